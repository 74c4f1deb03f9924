// The client createRealtime() returns when TOOLBOX_REALTIME["ENABLED"] is False
// (config.enabled === false): the same methods, and nothing connects. Pages keep one
// code path: subscribe/bind are no-ops (bind returns an unbind function), the state
// is "disabled" for good, and rt.fetch / the XHR hook still add the CSRF header on the
// page's own origin (no X-Socket-ID: there is no socket), so forms keep working.

import { fetchWith, installXHRHook } from "./realtime-http.js";

export const DISABLED_STATE = Object.freeze({ current: "disabled", previous: null, retryIn: null });

/** The inert client; `headerAuth` as realtime.js builds it (its socketId() is null here). */
export function disabledRealtime(config, fetchImpl, headerAuth) {
  const noop = () => {};
  return {
    pusher: null,
    config,
    get state() {
      return { ...DISABLED_STATE };
    },
    subscribe: () => null,
    unsubscribe: noop,
    bind: () => noop,
    onStateChange: () => noop, // never called: the state does not change
    fetch(url, init) {
      return fetchWith(headerAuth, fetchImpl, url, init);
    },
    installXHRHook(XHR = globalThis.XMLHttpRequest) {
      return installXHRHook(headerAuth, XHR);
    },
    catchUp: () => Promise.resolve(),
    lastSeq: () => null,
    disconnect: noop,
  };
}
