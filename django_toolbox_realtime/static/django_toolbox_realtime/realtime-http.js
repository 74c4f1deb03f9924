// HTTP helpers of realtime.js: which requests get X-Socket-ID and the CSRF header,
// the fetch wrapper and the XMLHttpRequest hook. Both headers go to the page's own
// origin only: a socket id or a CSRF token sent to another site is a leak. From the
// same origin's answers they read X-Realtime-Event-Ids: the events the request sent
// without this connection (SocketIDMiddleware), which a catch-up must not replay to it.

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);
const XHR_STATE = Symbol("django_toolbox_realtime.xhr");
export const EVENT_IDS_HEADER = "X-Realtime-Event-Ids";
const MAX_EVENT_IDS = 100; // what the server lists at most (socket_context.MAX_SENDER_EVENT_IDS)
const EVENT_ID = /^[A-Za-z0-9_.:-]{1,64}$/; // the server's event ids (delivery/envelope.py)

/** The well-formed ids of an X-Realtime-Event-Ids value (null: none), at most 100. */
export function parseEventIds(value) {
  if (typeof value !== "string") return [];
  const ids = value.split(",").map((id) => id.trim()).filter((id) => EVENT_ID.test(id));
  return ids.slice(0, MAX_EVENT_IDS);
}

// Tell auth.ownEvents (if any) the ids an answer from our own origin lists.
function noteOwnEvents(auth, url, value) {
  if (!auth.ownEvents || !isSameOrigin(url, auth.origin)) return;
  const ids = parseEventIds(value);
  if (ids.length) auth.ownEvents(ids);
}

/** Whether `url` (absolute or relative) points at `origin` (scheme, host and port). */
export function isSameOrigin(url, origin) {
  if (!origin) {
    // No page origin (Node, a worker without location): only a relative path is ours.
    try {
      new URL(String(url));
      return false;
    } catch {
      return !String(url).startsWith("//");
    }
  }
  try {
    return new URL(String(url), origin).origin === origin;
  } catch {
    return false;
  }
}

/**
 * The headers realtime adds to a request of `method` to `url`, leaving out those in
 * `present` (a predicate: the caller's own value wins). `auth` = {socketId(),
 * socketIdHeader, csrf: {headerName, token} | null, origin}.
 */
export function extraHeaders(auth, method, url, present = () => false) {
  const headers = {};
  if (!isSameOrigin(url, auth.origin)) return headers;
  const socketId = auth.socketId();
  if (socketId && !present(auth.socketIdHeader)) headers[auth.socketIdHeader] = socketId;
  const csrf = auth.csrf;
  const unsafe = !SAFE_METHODS.has(String(method || "GET").toUpperCase());
  if (unsafe && csrf && csrf.token && !present(csrf.headerName)) headers[csrf.headerName] = csrf.token;
  return headers;
}

/**
 * `fetch(url, init)` with the extra headers; the caller's `init` is not changed. A
 * same-origin answer's X-Realtime-Event-Ids goes to `auth.ownEvents(ids)`.
 */
export async function fetchWith(auth, fetchImpl, url, init = {}) {
  const isRequest = typeof Request !== "undefined" && url instanceof Request;
  const headers = new Headers(init.headers ?? (isRequest ? url.headers : undefined));
  const method = init.method ?? (isRequest ? url.method : "GET");
  const target = isRequest ? url.url : url;
  const added = extraHeaders(auth, method, target, (name) => headers.has(name));
  for (const [name, value] of Object.entries(added)) headers.set(name, value);
  const response = await fetchImpl(url, { ...init, headers });
  // A redirect may have left the origin: judge the answer by where it came from.
  noteOwnEvents(auth, response.url || target, response.headers?.get?.(EVENT_IDS_HEADER) ?? null);
  return response;
}

/**
 * Patch `XHR.prototype` so same-origin sends carry the extra headers (and their
 * answers' X-Realtime-Event-Ids reach `auth.ownEvents`); returns a function that
 * restores the previous methods.
 */
export function installXHRHook(auth, XHR) {
  if (!XHR || !XHR.prototype) {
    throw new Error("realtime: installXHRHook() needs XMLHttpRequest (none in this environment).");
  }
  const proto = XHR.prototype;
  const { open, send, setRequestHeader } = proto;
  proto.open = function (method, url, ...rest) {
    this[XHR_STATE] = { method, url, names: new Set() };
    return open.call(this, method, url, ...rest);
  };
  proto.setRequestHeader = function (name, value) {
    this[XHR_STATE]?.names.add(String(name).toLowerCase());
    return setRequestHeader.call(this, name, value);
  };
  proto.send = function (body) {
    const state = this[XHR_STATE];
    if (state) {
      const present = (name) => state.names.has(name.toLowerCase());
      for (const [name, value] of Object.entries(extraHeaders(auth, state.method, state.url, present))) {
        setRequestHeader.call(this, name, value);
      }
      if (auth.ownEvents && isSameOrigin(state.url, auth.origin)) {
        this.addEventListener?.("load", function () {
          noteOwnEvents(auth, this.responseURL || state.url, this.getResponseHeader(EVENT_IDS_HEADER));
        });
      }
    }
    return send.call(this, body);
  };
  return function uninstall() {
    Object.assign(proto, { open, send, setRequestHeader });
  };
}
