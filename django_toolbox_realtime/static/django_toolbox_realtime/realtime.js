// django-toolbox-realtime browser helper (ES module, no build step).
//
//   import { readConfig, createRealtime } from ".../django_toolbox_realtime/realtime.js";
//   const rt = createRealtime();              // config from {% realtime_config %}
//   rt.subscribe("private-teacher");
//   rt.bind("private-teacher", "quiz-submitted", (data, meta) => render(data));
//   await rt.fetch("/api/v1/quiz/1/submit", { method: "POST", body });  // no echo to us
//
// pusher-js is loaded by the page (globalThis.Pusher) or passed as `Pusher`.
// See docs/frontend.md ("JavaScript helper").

import { authError, batchAuthorizer, userAuthenticator } from "./realtime-auth.js";
import { ChannelTracker } from "./realtime-catchup.js";
import { disabledRealtime } from "./realtime-disabled.js";
import { fetchWith, installXHRHook } from "./realtime-http.js";

const DEFAULT_ELEMENT_ID = "realtime-config";

/** The configuration rendered by `{% realtime_config %}` (a json_script element). */
export function readConfig(elementId = DEFAULT_ELEMENT_ID) {
  const element = globalThis.document?.getElementById(elementId);
  if (!element) {
    const tag = elementId === DEFAULT_ELEMENT_ID ? "{% realtime_config %}" : `{% realtime_config "${elementId}" %}`;
    throw new Error(`realtime: no element with id "${elementId}": render ${tag} in the page (after {% load realtime %}).`);
  }
  return JSON.parse(element.textContent);
}

function pusherOptions(config, authorize, authenticate) {
  const options = {
    cluster: config.cluster || "mt1", // pusher-js requires one; unused when wsHost is set
    forceTLS: Boolean(config.forceTLS),
    enabledTransports: config.enabledTransports || ["ws", "wss"],
    channelAuthorization: { customHandler: authorize },
    userAuthentication: { customHandler: authenticate },
  };
  if (config.wsHost) {
    options.wsHost = config.wsHost;
    if (config.wsPort != null) options.wsPort = config.wsPort;
    if (config.wssPort != null || config.wsPort != null) options.wssPort = config.wssPort ?? config.wsPort;
  }
  return options;
}

/**
 * The realtime client. Options: config (default readConfig()), Pusher (default
 * globalThis.Pusher), token (Bearer instead of session + CSRF), fetch, onStateChange,
 * origin (default location.origin), document, recentIds, onError, onMissed.
 * With config.enabled false: an inert client, state "disabled" (realtime-disabled.js).
 */
export function createRealtime(options = {}) {
  const config = options.config ?? readConfig();
  const enabled = config.enabled !== false;
  const Pusher = options.Pusher ?? globalThis.Pusher;
  if (enabled && typeof Pusher !== "function") {
    throw new Error("realtime: pusher-js is not loaded: add its <script> before this module, or pass { Pusher }.");
  }
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const token = options.token ?? null;
  const report = options.onError ?? ((error) => console.error("realtime:", error));
  let pusher = null;
  let tracker = null;

  // Credentials for the app's own endpoints (auth, user-auth, history).
  const request = (url, init = {}) => {
    const headers = new Headers(init.headers);
    if (token) headers.set("Authorization", `Bearer ${token}`);
    else if (init.method && init.method !== "GET" && config.csrf?.token) headers.set(config.csrf.headerName, config.csrf.token);
    return fetchImpl(url, { credentials: "same-origin", ...init, headers });
  };
  const headerAuth = {
    origin: options.origin ?? globalThis.location?.origin ?? null,
    socketIdHeader: config.socketIdHeader || "X-Socket-ID",
    csrf: token ? null : config.csrf ?? null,
    socketId: () => pusher?.connection.socket_id ?? null,
    // X-Realtime-Event-Ids of our own answers: events the server sent without us.
    ownEvents: (ids) => tracker?.markOwn(ids),
  };
  if (!enabled) return disabledRealtime(config, fetchImpl, headerAuth);

  // pusher-js reports a status only for its own (unexported) error class: a refused
  // channel gets the same event shape, with the status, from here.
  const deny = (name, status, message, callback) => {
    const channel = pusher.channel(name);
    if (channel && channel.subscriptionPending) {
      channel.subscriptionPending = false;
      channel.emit("pusher:subscription_error", { type: "AuthError", error: message, status });
    } else callback(authError(status, message), null);
  };
  const authorize = batchAuthorizer({
    endpoint: config.batchAuthEndpoint,
    batchMax: config.batchMax,
    request,
    isCurrent: (socketId) => pusher.connection.socket_id === socketId,
    deny,
  });
  const authenticate = userAuthenticator({ endpoint: config.userAuthEndpoint, request });
  pusher = new Pusher(config.key, pusherOptions(config, authorize, authenticate));

  tracker = new ChannelTracker({
    historyEndpoint: config.historyEndpoint,
    request,
    recentIds: options.recentIds,
    report,
    onMissed: options.onMissed,
  });

  // Connection state, with pusher-js's retry countdown (connecting_in, seconds).
  const stateCallbacks = new Set();
  let state = { current: pusher.connection.state, previous: null, retryIn: null };
  let everConnected = false;
  const publish = (next) => {
    state = next;
    for (const callback of [...stateCallbacks]) {
      try {
        callback({ ...state });
      } catch (error) {
        report(error);
      }
    }
  };
  pusher.connection.bind("state_change", ({ previous, current }) => {
    // A countdown ends when the retry starts (connecting) or succeeds (connected).
    const retryIn = current === "connecting" || current === "connected" ? null : state.retryIn;
    if (current === "connected") {
      if (everConnected) tracker.reconnected();
      everConnected = true;
    }
    publish({ current, previous, retryIn });
  });
  // pusher-js announces a retry while still "connected" (an open socket closed): the
  // countdown shows from the next state on, never on "connected".
  pusher.connection.bind("connecting_in", (delay) => {
    if (state.current !== "connected") publish({ ...state, retryIn: delay });
  });
  if (options.onStateChange) stateCallbacks.add(options.onStateChange);

  // A tab that was hidden may have been throttled or frozen: catch up when it shows.
  const doc = options.document ?? globalThis.document;
  let wasHidden = doc?.visibilityState === "hidden";
  const onVisibility = () => {
    if (doc.visibilityState === "hidden") wasHidden = true;
    else if (wasHidden) {
      wasHidden = false;
      tracker.catchUpAll();
    }
  };
  doc?.addEventListener?.("visibilitychange", onVisibility);

  const rt = {
    pusher,
    config,
    get state() {
      return { ...state };
    },
    /** Subscribe (counted: each subscribe is released by one unsubscribe). */
    subscribe(name) {
      const st = tracker.state(name);
      st.count += 1;
      clearTimeout(st.releaseTimer);
      st.releaseTimer = null;
      if (st.channel && pusher.channel(name) === st.channel) return st.channel;
      const channel = pusher.subscribe(name);
      tracker.attach(name, channel);
      return channel;
    },
    /** Release one subscribe(name); the channel is left after the tick of the last one. */
    unsubscribe(name) {
      const st = tracker.get(name);
      if (!st || st.count === 0) return;
      st.count -= 1;
      if (st.count > 0 || st.releaseTimer) return;
      // Deferred: React strict mode unmounts and mounts again in one tick.
      st.releaseTimer = setTimeout(() => {
        st.releaseTimer = null;
        if (st.count > 0 || tracker.get(name) !== st) return;
        tracker.drop(name);
        pusher.unsubscribe(name);
      }, 0);
    },
    /** handler(data, meta), meta = {id, seq, channel, replayed}; returns an unbind function. */
    bind(name, event, handler) {
      return tracker.bind(name, event, handler);
    },
    onStateChange(callback) {
      stateCallbacks.add(callback);
      return () => stateCallbacks.delete(callback);
    },
    fetch(url, init) {
      return fetchWith(headerAuth, fetchImpl, url, init);
    },
    installXHRHook(XHR = globalThis.XMLHttpRequest) {
      return installXHRHook(headerAuth, XHR);
    },
    /** Fetch the history after the last seq of one channel, or of all. */
    catchUp(name) {
      return name === undefined ? tracker.catchUpAll().then(() => undefined) : tracker.catchUp(name);
    },
    lastSeq(name) {
      return tracker.lastSeq(name);
    },
    disconnect() {
      doc?.removeEventListener?.("visibilitychange", onVisibility);
      stateCallbacks.clear();
      pusher.disconnect();
    },
  };
  return rt;
}

/** `fetch` that adds X-Socket-ID (and the CSRF header for unsafe methods) on the page's origin. */
export function realtimeFetch(rt, url, init) {
  return rt.fetch(url, init);
}
