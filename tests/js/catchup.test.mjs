// Catch-up: last seq per channel, duplicates dropped by id, gaps and reconnects
// fetch the history, replayed events reach the same handlers in order.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createRealtime } from "../../django_toolbox_realtime/static/django_toolbox_realtime/realtime.js";
import { CONFIG, FakePusher, ORIGIN, fakeFetch, grantAllBut, settle, until } from "./fakes.mjs";

// The one request that asks for a channel's position (after the largest seq, limit 1).
const isBaseline = (call) => call.url.includes("after=999999999999999999");
const ev = (seq, extra = {}) => ({ _rt: { id: `e${seq}`, seq }, n: seq, ...extra });
const row = (seq) => ({ id: `e${seq}`, seq, event: "tick", data: ev(seq), delivered_at: null });

// history: {channel: [seq...]} served by a fake history endpoint (pages of `page`).
function server({ history = {}, page = 100, lastSeq } = {}) {
  return (call) => {
    if (call.url.startsWith("/api/v1/pusher/auth/batch")) return grantAllBut()(call);
    const url = new URL(call.url, ORIGIN);
    const channel = url.searchParams.get("channel");
    const after = Number(url.searchParams.get("after") ?? 0);
    const limit = Number(url.searchParams.get("limit") ?? page);
    const all = (history[channel] ?? []).filter((seq) => seq > after);
    const served = all.slice(0, Math.min(limit, page));
    const body = {
      channel,
      events: served.map(row),
      next_after: served.length ? served.at(-1) : after,
      truncated: all.length > served.length,
      oldest_seq: history[channel]?.[0] ?? null,
    };
    if (lastSeq !== undefined) body.last_seq = lastSeq[channel] ?? null;
    return { status: 200, body };
  };
}

function setup(options = {}) {
  const fetch = fakeFetch(server(options));
  const rt = createRealtime({ config: CONFIG, Pusher: FakePusher, fetch, origin: ORIGIN, document: options.document });
  rt.pusher.connect("1.1");
  const got = [];
  const listen = (name) => {
    const channel = rt.subscribe(name);
    rt.bind(name, "tick", (data, meta) => got.push({ n: data.n, ...meta, hasRt: "_rt" in data }));
    return channel;
  };
  const historyCalls = () => fetch.calls.filter((c) => c.url.includes("/history") && !isBaseline(c));
  return { rt, fetch, got, listen, historyCalls };
}

test("handlers get the data as received and meta; a repeated id is dropped", async () => {
  const { got, listen } = setup();
  const channel = listen("public-x");
  channel.emit("tick", ev(1));
  channel.emit("tick", ev(1)); // at-least-once delivery sent it twice
  channel.emit("tick", ev(2));
  channel.emit("other", ev(3)); // no handler for it
  assert.deepEqual(got, [
    { n: 1, id: "e1", seq: 1, channel: "public-x", replayed: false, hasRt: true },
    { n: 2, id: "e2", seq: 2, channel: "public-x", replayed: false, hasRt: true },
  ]);
});

test("events without _rt are delivered with null id and seq and never deduplicated", async () => {
  const { got, listen } = setup();
  const channel = listen("public-x");
  channel.emit("tick", { n: 7 });
  channel.emit("tick", { n: 7 });
  assert.deepEqual(got.map((g) => [g.n, g.id, g.seq]), [[7, null, null], [7, null, null]]);
});

test("a seq gap fetches the history after the last seq and delivers in order, once", async () => {
  const { got, listen, historyCalls } = setup({ history: { "public-x": [1, 2, 3, 4, 5] } });
  const channel = listen("public-x");
  channel.emit("tick", ev(1));
  channel.emit("tick", ev(2));
  channel.emit("tick", ev(5)); // 3 and 4 are missing
  channel.emit("tick", ev(6)); // arrives while catching up: held back, then delivered
  await until(() => got.length === 6, "six events");
  assert.deepEqual(got.map((g) => g.n), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(got.map((g) => g.replayed), [false, false, true, true, true, false]);
  const [call] = historyCalls();
  assert.equal(call.url, "/api/v1/pusher/history?channel=public-x&after=2");
  assert.equal(historyCalls().length, 1);
});

test("after a reconnect each channel catches up once re-subscribed, paging through", async () => {
  const history = { "private-a": [1, 2, 3, 4, 5, 6, 7], "public-b": [1, 2] };
  const { rt, got, listen, historyCalls } = setup({ history, page: 2 });
  listen("private-a");
  listen("public-b");
  await until(() => rt.pusher.channel("private-a").subscribed, "subscribed");
  rt.pusher.channel("private-a").emit("tick", ev(1));
  rt.pusher.channel("public-b").emit("tick", ev(1));
  rt.pusher.channel("public-b").emit("tick", ev(2));
  assert.equal(historyCalls().length, 0, "the first connection needs no catch-up");
  rt.pusher.drop();
  rt.pusher.connect("2.2");
  await until(() => got.length === 9, "the missed events");
  const a = got.filter((g) => g.channel === "private-a");
  assert.deepEqual(a.map((g) => g.n), [1, 2, 3, 4, 5, 6, 7]);
  assert.ok(a.slice(1).every((g) => g.replayed));
  const urls = historyCalls().map((c) => c.url);
  assert.deepEqual(urls.filter((u) => u.includes("private-a")), [
    "/api/v1/pusher/history?channel=private-a&after=1",
    "/api/v1/pusher/history?channel=private-a&after=3",
    "/api/v1/pusher/history?channel=private-a&after=5",
  ]);
  assert.deepEqual(urls.filter((u) => u.includes("public-b")), ["/api/v1/pusher/history?channel=public-b&after=2"]);
});

test("an event that arrives live and in the history counts once", async () => {
  const { rt, got, listen } = setup({ history: { "public-x": [1, 2, 3] } });
  const channel = listen("public-x");
  channel.emit("tick", ev(1));
  channel.emit("tick", ev(3)); // gap: catch-up asks after=1 and gets 2 and 3
  channel.emit("tick", ev(3)); // and the live repeat
  await until(() => got.length === 3, "three events");
  await settle();
  assert.deepEqual(got.map((g) => g.n), [1, 2, 3]);
  assert.equal(rt.lastSeq("public-x"), 3);
});

test("the tab waking up (visibilitychange to visible after hidden) catches up", async () => {
  const listeners = [];
  const document = {
    visibilityState: "visible",
    addEventListener: (type, listener) => listeners.push([type, listener]),
    removeEventListener() {},
  };
  const { got, listen, historyCalls } = setup({ history: { "public-x": [1, 2] }, document });
  const channel = listen("public-x");
  channel.emit("tick", ev(1));
  const fire = (state) => {
    document.visibilityState = state;
    for (const [type, listener] of listeners) if (type === "visibilitychange") listener();
  };
  fire("visible"); // not hidden before: nothing to do
  assert.equal(historyCalls().length, 0);
  fire("hidden");
  fire("visible");
  await until(() => got.length === 2, "the event missed while hidden");
  assert.equal(got[1].n, 2);
  assert.equal(got[1].replayed, true);
});

test("a history refusal still delivers the held-back live events, without looping", async () => {
  const fetch = fakeFetch(() => ({ status: 403, body: { error: "forbidden" } }));
  const rt = createRealtime({ config: CONFIG, Pusher: FakePusher, fetch, origin: ORIGIN });
  rt.pusher.connect("1.1");
  const got = [];
  const channel = rt.subscribe("public-x");
  rt.bind("public-x", "tick", (data) => got.push(data.n));
  channel.emit("tick", ev(1));
  channel.emit("tick", ev(4));
  await until(() => got.length === 2, "the live event");
  await settle();
  assert.deepEqual(got, [1, 4]);
  assert.equal(fetch.calls.filter((c) => !isBaseline(c)).length, 1, "one catch-up request, no retry loop");
});

test("rt.catchUp(name) and rt.catchUp() fetch on demand", async () => {
  const history = { "public-x": [1, 2], "public-y": [1, 2, 3] };
  const { rt, got, listen } = setup({ history });
  listen("public-x").emit("tick", ev(1));
  listen("public-y").emit("tick", ev(1));
  await rt.catchUp("public-x");
  assert.deepEqual(got.map((g) => `${g.channel}:${g.n}`), ["public-x:1", "public-y:1", "public-x:2"]);
  await rt.catchUp();
  assert.deepEqual(got.slice(3).map((g) => `${g.channel}:${g.n}`), ["public-y:2", "public-y:3"]);
});

test("the set of recent ids per channel is bounded", async () => {
  const fetch = fakeFetch(server());
  const rt = createRealtime({ config: CONFIG, Pusher: FakePusher, fetch, origin: ORIGIN, recentIds: 3 });
  rt.pusher.connect("1.1");
  const got = [];
  const channel = rt.subscribe("public-x");
  rt.bind("public-x", "tick", (data) => got.push(data.n));
  // Ids without seq (no gap checks): e10..e14, then e10 again is forgotten, e14 is not.
  for (let i = 10; i < 15; i++) channel.emit("tick", { _rt: { id: `e${i}` }, n: i });
  channel.emit("tick", { _rt: { id: "e14" }, n: 14 });
  channel.emit("tick", { _rt: { id: "e10" }, n: 10 });
  assert.deepEqual(got, [10, 11, 12, 13, 14, 10]);
});

test("a channel's position starts from the server's last_seq when it gives one", async () => {
  const history = { "public-x": [1, 2, 3, 4] };
  const { rt, fetch, got, listen } = setup({ history, lastSeq: { "public-x": 2 } });
  listen("public-x");
  await until(() => rt.lastSeq("public-x") === 2, "the baseline");
  const [baseline] = fetch.calls.filter(isBaseline);
  assert.match(baseline.url, /after=999999999999999999&limit=1$/);
  rt.pusher.drop();
  rt.pusher.connect("2.2");
  await until(() => got.length === 2, "events 3 and 4");
  assert.deepEqual(got.map((g) => g.n), [3, 4]);
});

test("without last_seq in the answer, later channels make no baseline request", async () => {
  const { rt, fetch, listen } = setup({ history: {} });
  const baselines = () => fetch.calls.filter(isBaseline).length;
  listen("public-x");
  await until(() => baselines() === 1, "the first baseline");
  await settle();
  listen("public-y");
  await settle();
  assert.equal(baselines(), 1);
  assert.equal(rt.lastSeq("public-y"), null);
});
