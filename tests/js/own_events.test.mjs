// The sender's own events (X-Realtime-Event-Ids): the server excluded them from this
// connection, so their seqs are a gap here; a catch-up replays them from the history.
// rt.fetch and the XHR hook read the header from same-origin answers, and such an
// event is then never dispatched, but still advances the channel's position.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createRealtime } from "../../django_toolbox_realtime/static/django_toolbox_realtime/realtime.js";
import { parseEventIds } from "../../django_toolbox_realtime/static/django_toolbox_realtime/realtime-http.js";
import { CONFIG, FakePusher, ORIGIN, fakeFetch, grantAllBut, settle, until } from "./fakes.mjs";

const isBaseline = (call) => call.url.includes("after=999999999999999999");
const ev = (seq) => ({ _rt: { id: `e${seq}`, seq }, n: seq });
const row = (seq) => ({ id: `e${seq}`, seq, event: "tick", data: ev(seq), delivered_at: null });
const HEADER = "X-Realtime-Event-Ids";

// A history endpoint serving `history` ({channel: [seq...]}); any other same-origin
// or foreign request answers with `answers[url]` ({headers}) or an empty 200.
function setup({ history = {}, answers = {} } = {}) {
  const fetch = fakeFetch((call) => {
    if (call.url.startsWith("/api/v1/pusher/auth/batch")) return grantAllBut()(call);
    if (!call.url.startsWith("/api/v1/pusher/history")) return { status: 200, body: {}, ...answers[call.url] };
    const url = new URL(call.url, ORIGIN);
    const channel = url.searchParams.get("channel");
    const after = Number(url.searchParams.get("after"));
    const served = (history[channel] ?? []).filter((seq) => seq > after);
    return { status: 200, body: { channel, events: served.map(row), next_after: served.at(-1) ?? after,
      truncated: false, oldest_seq: history[channel]?.[0] ?? null } };
  });
  const rt = createRealtime({ config: CONFIG, Pusher: FakePusher, fetch, origin: ORIGIN });
  rt.pusher.connect("1.1");
  const got = [];
  const channel = rt.subscribe("public-x");
  rt.bind("public-x", "tick", (data, meta) => got.push({ n: data.n, replayed: meta.replayed }));
  const catchUps = () => fetch.calls.filter((c) => c.url.includes("/history") && !isBaseline(c));
  return { rt, fetch, got, channel, catchUps };
}

test("an own event replayed by a catch-up is not dispatched, and no second catch-up follows", async () => {
  const { rt, got, channel, catchUps } = setup({
    history: { "public-x": [1, 2, 3] },
    answers: { "/api/change": { headers: { [HEADER]: "e2" } } },
  });
  await settle();
  channel.emit("tick", ev(1)); // the position: 1
  const response = await rt.fetch("/api/change", { method: "POST" }); // sends e2, without us
  assert.equal(response.status, 200);
  channel.emit("tick", ev(3)); // another's change: seq 3 after 1 is a gap
  await until(() => got.length === 2, "the catch-up");
  assert.deepEqual(got, [{ n: 1, replayed: false }, { n: 3, replayed: true }], "e2 is ours: not dispatched");
  assert.equal(rt.lastSeq("public-x"), 3);
  channel.emit("tick", ev(4));
  await settle();
  assert.deepEqual(got.map((g) => g.n), [1, 3, 4]);
  assert.equal(catchUps().length, 1, "one catch-up for the gap, none after");
});

test("an own event that ends the history still advances the position (no repeated catch-up)", async () => {
  const { rt, got, channel, catchUps } = setup({
    history: { "public-x": [1, 2] },
    answers: { "/api/change": { headers: { [HEADER]: "e2" } } },
  });
  await settle();
  channel.emit("tick", ev(1));
  await rt.fetch("/api/change", { method: "POST" });
  await rt.catchUp("public-x"); // the tab woke up: the history holds only our e2 after 1
  assert.equal(rt.lastSeq("public-x"), 2, "the own event moved the position");
  channel.emit("tick", ev(3)); // no gap now
  await settle();
  assert.deepEqual(got.map((g) => g.n), [1, 3]);
  assert.equal(catchUps().length, 1, "only the explicit one");
});

test("an own event arriving live (the server included the sender) is not dispatched but counts", async () => {
  const { rt, got, channel, catchUps } = setup({ answers: { "/api/change": { headers: { [HEADER]: "e2" } } } });
  await settle();
  channel.emit("tick", ev(1));
  await rt.fetch("/api/change", { method: "POST" });
  channel.emit("tick", ev(2));
  channel.emit("tick", ev(3));
  await settle();
  assert.deepEqual(got.map((g) => g.n), [1, 3]);
  assert.equal(rt.lastSeq("public-x"), 3);
  assert.equal(catchUps().length, 0);
});

test("the header of another origin's answer is ignored", async () => {
  const { rt, got, channel } = setup({
    answers: { "https://evil.example/x": { headers: { [HEADER]: "e2" } } },
  });
  await settle();
  channel.emit("tick", ev(1));
  await rt.fetch("https://evil.example/x", { method: "POST" });
  channel.emit("tick", ev(2));
  assert.deepEqual(got.map((g) => g.n), [1, 2], "another site cannot hide our events");
});

test("parseEventIds keeps well-formed ids only, at most 100", () => {
  assert.deepEqual(parseEventIds(" a1, b-2 ,,c:3.x_4 "), ["a1", "b-2", "c:3.x_4"]);
  assert.deepEqual(parseEventIds("ok,bad id,<script>,x".concat("y".repeat(64))), ["ok"]);
  assert.deepEqual(parseEventIds(null), []);
  const many = Array.from({ length: 150 }, (_, i) => `id${i}`).join(",");
  assert.equal(parseEventIds(many).length, 100);
});

// An XMLHttpRequest that answers when told: response headers, then "load".
class FakeXHR {
  open(method, url) {
    Object.assign(this, { method, url, headers: {}, listeners: [], responseHeaders: {} });
  }
  setRequestHeader(name, value) {
    this.headers[name] = value;
  }
  addEventListener(type, listener) {
    if (type === "load") this.listeners.push(listener);
  }
  getResponseHeader(name) {
    const found = Object.keys(this.responseHeaders).find((key) => key.toLowerCase() === name.toLowerCase());
    return found === undefined ? null : this.responseHeaders[found];
  }
  send() {}
  answer(headers) {
    this.responseHeaders = headers;
    for (const listener of this.listeners) listener.call(this, { type: "load" });
  }
}

test("the XHR hook reads the header of same-origin answers too", async () => {
  const { rt, got, channel } = setup();
  await settle();
  const uninstall = rt.installXHRHook(FakeXHR);
  try {
    channel.emit("tick", ev(1));
    const foreign = new FakeXHR();
    foreign.open("POST", "https://cdn.example/x");
    foreign.send(null);
    foreign.answer({ [HEADER]: "e3" });
    const own = new FakeXHR();
    own.open("POST", "/api/change");
    own.send(null);
    assert.equal(own.headers["X-Socket-ID"], "1.1");
    own.answer({ "x-realtime-event-ids": "e2" });
    channel.emit("tick", ev(2));
    channel.emit("tick", ev(3));
    assert.deepEqual(got.map((g) => g.n), [1, 3]);
  } finally {
    uninstall();
  }
});
