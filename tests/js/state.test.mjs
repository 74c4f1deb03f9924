// Connection-state callbacks (with pusher-js's retry countdown), reference-counted
// subscriptions, readConfig and the configuration handed to pusher-js.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createRealtime, readConfig } from "../../django_toolbox_realtime/static/django_toolbox_realtime/realtime.js";
import { CONFIG, FakePusher, ORIGIN, fakeFetch, grantAllBut, settle, until } from "./fakes.mjs";

const make = (options = {}) =>
  createRealtime({ config: CONFIG, Pusher: FakePusher, fetch: fakeFetch(grantAllBut()), origin: ORIGIN, ...options });

test("state changes reach the callbacks, with retryIn from connecting_in", () => {
  const seen = [];
  const rt = make({ onStateChange: (s) => seen.push(s) });
  const connection = rt.pusher.connection;
  connection.setState("connecting");
  connection.setState("connected", "1.1");
  // pusher-js, when an open socket closes: connecting_in(1) while still "connected",
  // then "connecting" once the timer fires. "connected" never shows a countdown.
  connection.emit("connecting_in", 1);
  assert.equal(rt.state.retryIn, null, "connected: no retry countdown");
  connection.setState("connecting");
  connection.setState("unavailable");
  connection.emit("connecting_in", 4);
  connection.setState("failed");
  connection.setState("connected", "2.2");
  assert.deepEqual(seen, [
    { current: "connecting", previous: "initialized", retryIn: null },
    { current: "connected", previous: "connecting", retryIn: null },
    { current: "connecting", previous: "connected", retryIn: null },
    { current: "unavailable", previous: "connecting", retryIn: null },
    { current: "unavailable", previous: "connecting", retryIn: 4 },
    { current: "failed", previous: "unavailable", retryIn: 4 },
    { current: "connected", previous: "failed", retryIn: null },
  ]);
  assert.deepEqual(rt.state, { current: "connected", previous: "failed", retryIn: null });
});

test("onStateChange returns an unsubscribe function; a throwing callback hurts no other", () => {
  const rt = make();
  const a = [];
  const b = [];
  const stopA = rt.onStateChange((s) => a.push(s.current));
  rt.onStateChange(() => {
    throw new Error("badge broke");
  });
  rt.onStateChange((s) => b.push(s.current));
  rt.pusher.connection.setState("connecting");
  stopA();
  rt.pusher.connection.setState("disconnected");
  assert.deepEqual(a, ["connecting"]);
  assert.deepEqual(b, ["connecting", "disconnected"]);
});

test("subscribe/unsubscribe are counted; the last release leaves after the tick", async () => {
  const rt = make();
  rt.pusher.connect("1.1");
  const first = rt.subscribe("private-a");
  assert.equal(rt.subscribe("private-a"), first);
  rt.unsubscribe("private-a");
  await settle();
  assert.deepEqual(rt.pusher.sent, [], "one holder left");
  rt.unsubscribe("private-a");
  assert.deepEqual(rt.pusher.sent, [], "not yet: a re-subscribe in this tick keeps it");
  await until(() => rt.pusher.sent.length === 1, "the unsubscribe");
  assert.deepEqual(rt.pusher.sent, [["unsubscribe", "private-a"]]);
  rt.unsubscribe("private-a"); // one too many: ignored
  await settle();
  assert.equal(rt.pusher.sent.length, 1);
});

test("unsubscribe then subscribe in one tick (strict mode) keeps the subscription", async () => {
  const fetch = fakeFetch(grantAllBut());
  const rt = createRealtime({ config: CONFIG, Pusher: FakePusher, fetch, origin: ORIGIN });
  rt.pusher.connect("1.1");
  rt.subscribe("private-a");
  rt.unsubscribe("private-a");
  rt.subscribe("private-a");
  await settle();
  assert.deepEqual(rt.pusher.sent, []);
  assert.equal(fetch.calls.filter((c) => c.url.includes("/auth/batch")).length, 1, "one authorization");
  assert.ok(rt.pusher.channel("private-a").subscribed);
});

test("bind returns an unbind function; handlers of a left channel are dropped", async () => {
  const rt = make();
  rt.pusher.connect("1.1");
  const got = [];
  const channel = rt.subscribe("public-x");
  const unbind = rt.bind("public-x", "tick", (data) => got.push(data.n));
  channel.emit("tick", { n: 1 });
  unbind();
  channel.emit("tick", { n: 2 });
  rt.bind("public-x", "tick", (data) => got.push(data.n * 10));
  rt.unsubscribe("public-x");
  await until(() => rt.pusher.sent.length === 1, "left");
  const again = rt.subscribe("public-x");
  again.emit("tick", { n: 3 });
  assert.deepEqual(got, [1]);
});

test("the pusher-js options come from the configuration", () => {
  const rt = make();
  const options = rt.pusher.options;
  assert.equal(rt.pusher.key, "app-key");
  assert.equal(options.wsHost, "127.0.0.1");
  assert.equal(options.wsPort, 6001);
  assert.equal(options.wssPort, 6001);
  assert.equal(options.forceTLS, false);
  assert.deepEqual(options.enabledTransports, ["ws", "wss"]);
  assert.equal(typeof options.channelAuthorization.customHandler, "function");
  assert.equal(typeof options.userAuthentication.customHandler, "function");
  const hosted = make({ config: { ...CONFIG, cluster: "eu", wsHost: null, wsPort: null, wssPort: null, forceTLS: true } });
  assert.equal(hosted.pusher.options.cluster, "eu");
  assert.equal("wsHost" in hosted.pusher.options, false);
  assert.equal(hosted.pusher.options.forceTLS, true);
});

test("createRealtime refuses a missing Pusher, saying why", () => {
  assert.throws(
    () => createRealtime({ config: CONFIG, fetch: fakeFetch() }),
    /pusher-js is not loaded/,
  );
});

test("a disabled configuration gives an inert client: nothing connects, requests still work", async () => {
  const fetch = fakeFetch();
  const changes = [];
  // No Pusher at all: a page with ENABLED False need not load pusher-js.
  const rt = createRealtime({ config: { ...CONFIG, enabled: false }, fetch, origin: ORIGIN,
    onStateChange: (s) => changes.push(s) });
  assert.equal(rt.pusher, null);
  assert.deepEqual(rt.state, { current: "disabled", previous: null, retryIn: null });
  assert.equal(rt.subscribe("private-a"), null);
  rt.unsubscribe("private-a");
  const unbind = rt.bind("private-a", "e", () => assert.fail("never called"));
  assert.equal(typeof unbind, "function");
  unbind();
  const stop = rt.onStateChange(() => {});
  assert.equal(typeof stop, "function");
  stop();
  assert.equal(await rt.catchUp(), undefined);
  assert.equal(rt.lastSeq("private-a"), null);
  await rt.fetch("/api/x", { method: "POST" });
  await rt.fetch("https://evil.example/x", { method: "POST" });
  assert.equal(fetch.calls[0].headers.get("X-CSRFToken"), "csrf-token-1", "forms keep working");
  assert.equal(fetch.calls[0].headers.get("X-Socket-ID"), null);
  assert.equal(fetch.calls[1].headers.get("X-CSRFToken"), null, "never to another origin");
  rt.disconnect();
  assert.deepEqual(changes, [], "the state never changes");
  assert.equal(fetch.calls.length, 2, "no authorization or history request");
});

test("readConfig parses the json_script element; a missing one names the tag", () => {
  const element = { textContent: JSON.stringify(CONFIG) };
  globalThis.document = { getElementById: (id) => (id === "realtime-config" ? element : null) };
  try {
    assert.deepEqual(readConfig(), CONFIG);
    assert.throws(() => readConfig("other-id"), /\{% realtime_config "other-id" %\}/);
  } finally {
    delete globalThis.document;
  }
});

test("disconnect() closes the client and stops the catch-up listeners", () => {
  const removed = [];
  const document = {
    visibilityState: "visible",
    addEventListener() {},
    removeEventListener: (type) => removed.push(type),
  };
  const rt = make({ document });
  rt.pusher.connect("1.1");
  rt.disconnect();
  assert.equal(rt.pusher.connection.state, "disconnected");
  assert.deepEqual(removed, ["visibilitychange"]);
});
