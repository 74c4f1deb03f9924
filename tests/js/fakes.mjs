// Fakes at the unit boundary of realtime.js: a Pusher class that behaves like
// pusher-js where realtime.js touches it (channels, authorizer calls, connection
// events), a fetch that records requests and answers from a table, a document.
// The real pusher-js runs in the end-to-end test (e2e/realtime_e2e.mjs).

export class FakeChannel {
  constructor(name, pusher) {
    this.name = name;
    this.pusher = pusher;
    this.callbacks = new Map();
    this.globals = [];
    this.subscribed = false;
    this.subscriptionPending = false;
    this.authData = null;
    this.members = { each() {}, count: 0, me: null };
  }
  bind(event, callback) {
    if (!this.callbacks.has(event)) this.callbacks.set(event, []);
    this.callbacks.get(event).push(callback);
    return this;
  }
  unbind(event, callback) {
    const list = this.callbacks.get(event) ?? [];
    this.callbacks.set(event, callback ? list.filter((cb) => cb !== callback) : []);
    return this;
  }
  bind_global(callback) {
    this.globals.push(callback);
    return this;
  }
  unbind_global(callback) {
    this.globals = callback ? this.globals.filter((cb) => cb !== callback) : [];
    return this;
  }
  emit(event, data, metadata = {}) {
    for (const callback of this.globals) callback(event, data);
    for (const callback of this.callbacks.get(event) ?? []) callback(data, metadata);
  }
  // What pusher-js does: public channels subscribe at once, others ask the authorizer.
  subscribe() {
    if (this.subscribed) return;
    this.subscriptionPending = true;
    if (!/^(private-|presence-)/.test(this.name)) {
      queueMicrotask(() => this.succeed()); // the server's answer comes later
      return;
    }
    const socketId = this.pusher.connection.socket_id;
    this.pusher.config.channelAuthorizer({ channelName: this.name, socketId }, (error, data) => {
      if (error) {
        this.subscriptionPending = false;
        // pusher-js adds "status" only for its own HTTPAuthError class.
        this.emit("pusher:subscription_error", { type: "AuthError", error: error.message });
      } else {
        this.authData = data;
        this.succeed();
      }
    });
  }
  succeed() {
    this.subscriptionPending = false;
    this.subscribed = true;
    this.emit("pusher:subscription_succeeded", {});
  }
}

export class FakeConnection {
  constructor() {
    this.state = "initialized";
    this.socket_id = null;
    this.callbacks = new Map();
  }
  bind(event, callback) {
    if (!this.callbacks.has(event)) this.callbacks.set(event, []);
    this.callbacks.get(event).push(callback);
  }
  unbind(event, callback) {
    const list = this.callbacks.get(event) ?? [];
    this.callbacks.set(event, callback ? list.filter((cb) => cb !== callback) : []);
  }
  emit(event, data) {
    for (const callback of this.callbacks.get(event) ?? []) callback(data);
  }
  setState(current, socketId) {
    const previous = this.state;
    this.state = current;
    if (current === "connected") this.socket_id = socketId ?? "123.456";
    this.emit("state_change", { previous, current });
    this.emit(current, {});
  }
}

export class FakePusher {
  static instances = [];
  constructor(key, options) {
    this.key = key;
    this.options = options;
    this.config = {
      channelAuthorizer: options.channelAuthorization.customHandler,
      userAuthenticator: options.userAuthentication.customHandler,
    };
    this.connection = new FakeConnection();
    this.channels = new Map();
    this.sent = [];
    FakePusher.instances.push(this);
  }
  subscribe(name) {
    let channel = this.channels.get(name);
    if (!channel) {
      channel = new FakeChannel(name, this);
      this.channels.set(name, channel);
    }
    if (this.connection.state === "connected") channel.subscribe();
    return channel;
  }
  unsubscribe(name) {
    this.channels.delete(name);
    this.sent.push(["unsubscribe", name]);
  }
  channel(name) {
    return this.channels.get(name);
  }
  allChannels() {
    return [...this.channels.values()];
  }
  connect(socketId = "123.456") {
    this.connection.setState("connecting");
    this.connection.setState("connected", socketId);
    for (const channel of this.channels.values()) channel.subscribe();
  }
  drop() {
    // The socket is lost: pusher-js marks every channel unsubscribed.
    for (const channel of this.channels.values()) channel.subscribed = false;
    this.connection.setState("connecting");
  }
  disconnect() {
    this.connection.setState("disconnected");
  }
}

// fetch that records every call and answers with respond(request) -> {status, body, headers?}.
export function fakeFetch(respond = () => ({ status: 200, body: {} })) {
  const calls = [];
  async function fetch(url, init = {}) {
    const headers = new Headers(init.headers ?? {});
    const call = { url: String(url), method: (init.method ?? "GET").toUpperCase(), headers, init };
    call.body = init.body === undefined ? undefined : init.body;
    call.json = typeof init.body === "string" && headers.get("content-type")?.includes("json")
      ? JSON.parse(init.body)
      : undefined;
    calls.push(call);
    const answer = await respond(call);
    if (answer instanceof Error) throw answer;
    return new Response(JSON.stringify(answer.body ?? {}), {
      status: answer.status ?? 200,
      headers: { "Content-Type": "application/json", ...(answer.headers ?? {}) },
    });
  }
  fetch.calls = calls;
  return fetch;
}

export const CONFIG = Object.freeze({
  enabled: true,
  key: "app-key",
  cluster: null,
  wsHost: "127.0.0.1",
  wsPort: 6001,
  wssPort: 6001,
  forceTLS: false,
  enabledTransports: ["ws", "wss"],
  authEndpoint: "/api/v1/pusher/auth",
  batchAuthEndpoint: "/api/v1/pusher/auth/batch",
  userAuthEndpoint: "/api/v1/pusher/user-auth",
  historyEndpoint: "/api/v1/pusher/history",
  batchMax: 50,
  csrf: { headerName: "X-CSRFToken", token: "csrf-token-1" },
  socketIdHeader: "X-Socket-ID",
});

export const ORIGIN = "https://app.example";

// Resolve after everything queued now (microtasks and 0 ms timers) has run.
export function settle() {
  return new Promise((resolve) => setTimeout(resolve, 5));
}

// Poll a condition (no fixed sleep): resolves when it holds, rejects at the deadline.
export async function until(condition, what = "condition", timeoutMs = 2000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

// A history page with no events (what a quiet channel answers).
export function emptyHistory(call) {
  const url = new URL(call.url, ORIGIN);
  const after = Number(url.searchParams.get("after") ?? 0);
  return { status: 200, body: { channel: url.searchParams.get("channel"), events: [], next_after: after, truncated: false, oldest_seq: null } };
}

export const isBatch = (call) => call.url.includes("/auth/batch");

// A batch-auth answer that grants every channel except those in `denied`
// (history requests get an empty page).
export function grantAllBut(denied = []) {
  return (call) => {
    if (!isBatch(call)) return emptyHistory(call);
    const channels = {};
    for (const name of call.json.channels) {
      channels[name] = denied.includes(name)
        ? { status: 403, error: "Forbidden" }
        : { auth: `app-key:sig-${name}`, ...(name.startsWith("presence-") ? { channel_data: "{}" } : {}) };
    }
    return { status: 200, body: { channels } };
  };
}
