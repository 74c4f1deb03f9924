// End to end: realtime.js with the real pusher-js (Node build) against soketi and
// the live Django server, with the configuration the dashboard page rendered
// ({% realtime_config %}) and two admin sessions (cookie + CSRF), as a browser has.
// Run by tests/js/test_realtime_e2e.py, which starts the servers and passes
// RT_E2E = {"base", "sessions": [{cookie, config}, ...]}; not part of `node --test tests/js/`.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import Pusher from "pusher-js";

import { createRealtime } from "../../../django_toolbox_realtime/static/django_toolbox_realtime/realtime.js";

const WAIT_MS = 10000;
const setup = JSON.parse(process.env.RT_E2E ?? "null");
if (!setup) throw new Error("RT_E2E is not set: run this through tests/js/test_realtime_e2e.py");
const { base, sessions } = setup;
const config = sessions[0].config; // the endpoints (the same for both; CSRF tokens differ)

// What a browser adds by itself: the page's origin and the session cookie.
function browserFetch(cookie, log) {
  return (url, init = {}) => {
    const absolute = new URL(String(url), base).href;
    const headers = new Headers(init.headers);
    headers.set("Cookie", cookie);
    log.push({ url: absolute, method: init.method ?? "GET", headers });
    return fetch(absolute, { ...init, headers });
  };
}

async function until(condition, what) {
  const deadline = Date.now() + WAIT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function client({ cookie, config }) {
  const log = [];
  const states = [];
  const rt = createRealtime({ config, Pusher, fetch: browserFetch(cookie, log), origin: base,
    onStateChange: (state) => states.push(state), onError: () => {} });
  const got = [];
  for (const event of ["agent.busy", "agent.idle", "agent.error"]) {
    rt.bind("agent-status", event, (data, meta) => got.push({ event, ...meta }));
  }
  return { rt, log, states, got };
}

const ADMIN_CHANNELS = ["private-admin", "private-teacher", "private-agent-metrics", "private-system-health"];
let a;
let b;

before(() => {
  a = client(sessions[0]);
  b = client(sessions[1]);
});
after(() => {
  a?.rt.disconnect();
  b?.rt.disconnect();
});

function subscribeAll(c, names) {
  const outcome = new Map();
  for (const name of names) {
    const channel = c.rt.subscribe(name);
    channel.bind("pusher:subscription_succeeded", () => outcome.set(name, "ok"));
    channel.bind("pusher:subscription_error", (error) => outcome.set(name, error));
  }
  return outcome;
}

const batchRequests = (c) => c.log.filter((r) => r.url.endsWith(config.batchAuthEndpoint));

test("one batch request authorizes every channel of the page; a refused one fails alone", async () => {
  const refused = "presence-classroom-999999"; // no such classroom
  const outcome = subscribeAll(a, [...ADMIN_CHANNELS, "agent-status", refused]);
  await until(() => outcome.size === ADMIN_CHANNELS.length + 2, "every subscription's outcome");
  for (const name of [...ADMIN_CHANNELS, "agent-status"]) assert.equal(outcome.get(name), "ok", name);
  assert.equal(outcome.get(refused).status, 403);
  assert.equal(outcome.get(refused).type, "AuthError");
  const requests = batchRequests(a);
  assert.equal(requests.length, 1, "one authorization request for five signed channels");
  assert.ok(requests[0].headers.get(config.csrf.headerName), "the session's CSRF header");
  assert.ok(a.states.some((s) => s.current === "connected"));
});

test("rt.fetch's X-Socket-ID keeps the sender's own echo away; the other session gets it", async () => {
  const outcome = subscribeAll(b, ["agent-status"]);
  await until(() => outcome.get("agent-status") === "ok", "b subscribed");
  const post = (c, status) =>
    c.rt.fetch("/api/v1/agents/grader/status", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ status }),
    });
  const response = await post(a, "busy");
  assert.equal(response.status, 200, await response.clone().text());
  await until(() => b.got.some((g) => g.event === "agent.busy"), "b gets agent.busy");
  const answer = await post(b, "idle");
  assert.equal(answer.status, 200);
  await until(() => a.got.some((g) => g.event === "agent.idle"), "a gets agent.idle");
  // Per-channel order: had a received its own agent.busy, it would have come first.
  assert.deepEqual(a.got.map((g) => g.event), ["agent.idle"]);
  assert.deepEqual(b.got.map((g) => g.event), ["agent.busy"]);
  const sent = a.log.find((r) => r.url.endsWith("/api/v1/agents/grader/status"));
  assert.equal(sent.headers.get(config.socketIdHeader), a.rt.pusher.connection.socket_id);
  assert.ok(Number.isInteger(a.got[0].seq) && a.got[0].id);
});

test("after a reconnect the events sent meanwhile arrive from the history, each once, in order", async () => {
  const last = a.rt.lastSeq("agent-status");
  assert.ok(Number.isInteger(last), "a has a position on agent-status");
  a.rt.pusher.disconnect();
  await until(() => a.rt.state.current === "disconnected", "a disconnected");
  for (const status of ["error", "busy", "idle"]) {
    const response = await b.rt.fetch("/api/v1/agents/grader/status", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ status }),
    });
    assert.equal(response.status, 200);
  }
  // The server marks an event delivered once soketi took it: wait until its history
  // serves all three (the precondition of a catch-up), then come back.
  const historyUrl = `${config.historyEndpoint}?channel=agent-status&after=${last}`;
  const served = async () => (await (await browserFetch(sessions[1].cookie, [])(historyUrl)).json()).events.length;
  await until(async () => (await served()) === 3, "the history to serve the three events");
  a.rt.pusher.connect();
  await until(() => a.got.filter((g) => g.replayed).length === 3, "three replayed events");
  const replayed = a.got.filter((g) => g.replayed);
  assert.deepEqual(replayed.map((g) => g.event), ["agent.error", "agent.busy", "agent.idle"]);
  assert.deepEqual(replayed.map((g) => g.seq), [last + 1, last + 2, last + 3]);
  assert.equal(new Set(a.got.map((g) => g.id)).size, a.got.length, "no event twice");
  const states = a.states.map((s) => s.current);
  assert.deepEqual(states.slice(-3), ["disconnected", "connecting", "connected"]);
});

test("the sender's own event never comes back through the catch-up of a gap", async () => {
  // a excludes itself from its change (rt.fetch: X-Socket-ID), so its seq has a gap
  // there; b's next change shows the gap and a catches up from the history, which
  // holds a's own event: the answer's X-Realtime-Event-Ids keeps it from a's handlers.
  const seen = a.got.length;
  const start = a.rt.lastSeq("agent-status");
  const historyGets = () => a.log.filter((r) => r.url.includes(config.historyEndpoint)
    && r.url.includes("channel=agent-status") && !r.url.includes("after=999999999999999999")).length;
  const getsBefore = historyGets();
  const post = (c, status) => c.rt.fetch("/api/v1/agents/grader/status", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ status }),
  });
  const mine = await post(a, "error");
  assert.equal(mine.status, 200);
  const own = (mine.headers.get("X-Realtime-Event-Ids") ?? "").split(",").filter(Boolean);
  assert.deepEqual([...own].sort(), [...(await mine.json()).events].sort(), "the header lists a's events");
  // The history serves a's event (so the catch-up below does replay it).
  const historyUrl = `${config.historyEndpoint}?channel=agent-status&after=${start}`;
  const served = async () => (await (await browserFetch(sessions[1].cookie, [])(historyUrl)).json()).events;
  await until(async () => (await served()).some((e) => own.includes(e.id)), "the history to serve a's event");
  const theirs = await post(b, "idle");
  assert.equal(theirs.status, 200);
  const theirIds = (await theirs.json()).events;
  await until(() => a.got.slice(seen).some((g) => theirIds.includes(g.id)), "a gets b's change");
  // The history serves in seq order: a's own event was judged before b's arrived.
  const now = a.got.slice(seen);
  assert.deepEqual(now.map((g) => g.event), ["agent.idle"], "b's change only, once");
  assert.ok(!now.some((g) => own.includes(g.id)), "a's handlers never got its own event");
  assert.equal(a.rt.lastSeq("agent-status"), start + 2, "the position passed a's own event");
  assert.equal(historyGets() - getsBefore, 1, "one catch-up for the gap, no repeat");
});

test("user authentication (signin) goes through userAuthEndpoint with the session", async () => {
  let signedIn = null;
  a.rt.pusher.connection.bind("message", (message) => {
    if (message.event === "pusher:signin_success") signedIn = message.data;
  });
  a.rt.pusher.signin();
  await until(() => signedIn !== null, "pusher:signin_success");
  assert.ok(JSON.parse(signedIn.user_data).id);
  assert.ok(a.log.some((r) => r.url.endsWith(config.userAuthEndpoint) && r.method === "POST"));
});
