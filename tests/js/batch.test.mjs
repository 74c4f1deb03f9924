// Channel authorization: one request per tick, chunked at batchMax, per-channel answers.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createRealtime } from "../../django_toolbox_realtime/static/django_toolbox_realtime/realtime.js";
import { CONFIG, FakePusher, ORIGIN, fakeFetch, grantAllBut, isBatch, settle, until } from "./fakes.mjs";

function setup({ respond = grantAllBut(), config = CONFIG, token } = {}) {
  const all = fakeFetch((call) => (isBatch(call) || call.url.includes("user-auth") ? respond(call) : grantAllBut()(call)));
  // Only the authorization requests (a new channel also asks the history for its position).
  const fetch = { get calls() { return all.calls.filter((c) => !c.url.includes("/history")); } };
  const rt = createRealtime({ config, Pusher: FakePusher, fetch: all, origin: ORIGIN, token });
  rt.pusher.connect("1.2");
  const outcome = new Map();
  const watch = (name) => {
    const channel = rt.subscribe(name);
    channel.bind("pusher:subscription_succeeded", () => outcome.set(name, "ok"));
    channel.bind("pusher:subscription_error", (error) => outcome.set(name, error));
    return channel;
  };
  return { rt, fetch, outcome, watch };
}

test("N subscriptions in one tick make one batch request", async () => {
  const { fetch, outcome, watch } = setup();
  const names = ["private-a", "private-b", "presence-c", "private-encrypted-d"];
  for (const name of names) watch(name);
  watch("public-x"); // needs no authorization
  await until(() => outcome.size === 5, "all subscriptions");
  assert.equal(fetch.calls.length, 1);
  const [call] = fetch.calls;
  assert.equal(call.url, "/api/v1/pusher/auth/batch");
  assert.equal(call.method, "POST");
  assert.equal(call.headers.get("content-type"), "application/json");
  assert.equal(call.headers.get("X-CSRFToken"), "csrf-token-1");
  assert.deepEqual(call.json, { socket_id: "1.2", channels: names });
  for (const name of names) assert.equal(outcome.get(name), "ok", name);
});

test("the authorizer hands each channel its own answer (channel_data, shared_secret)", async () => {
  const respond = () => ({
    status: 200,
    body: {
      channels: {
        "presence-c": { auth: "k:p", channel_data: '{"user_id":"7"}' },
        "private-encrypted-d": { auth: "k:e", shared_secret: "c2VjcmV0" },
      },
    },
  });
  const { rt, outcome, watch } = setup({ respond });
  watch("presence-c");
  watch("private-encrypted-d");
  await until(() => outcome.size === 2, "both answers");
  assert.deepEqual(rt.pusher.channel("presence-c").authData, { auth: "k:p", channel_data: '{"user_id":"7"}' });
  assert.deepEqual(rt.pusher.channel("private-encrypted-d").authData, { auth: "k:e", shared_secret: "c2VjcmV0" });
});

test("more channels than batchMax go out in chunks of batchMax", async () => {
  const { fetch, outcome, watch } = setup({ config: { ...CONFIG, batchMax: 3 } });
  for (let i = 0; i < 7; i++) watch(`private-n${i}`);
  await until(() => outcome.size === 7, "seven subscriptions");
  assert.deepEqual(fetch.calls.map((c) => c.json.channels.length), [3, 3, 1]);
  assert.equal(new Set(fetch.calls.flatMap((c) => c.json.channels)).size, 7);
});

test("a denied channel fails alone, with the status, in the pusher-js error shape", async () => {
  const { outcome, watch } = setup({ respond: grantAllBut(["private-admin"]) });
  watch("private-teacher");
  watch("private-admin");
  await until(() => outcome.size === 2, "both outcomes");
  assert.equal(outcome.get("private-teacher"), "ok");
  assert.deepEqual(outcome.get("private-admin"), { type: "AuthError", error: "Forbidden", status: 403 });
});

test("a refused request fails every channel in it with the request's status", async () => {
  const respond = () => ({ status: 403, body: { error: "not_authenticated", detail: "Sign in." } });
  const { outcome, watch } = setup({ respond });
  watch("private-a");
  watch("private-b");
  await until(() => outcome.size === 2, "both outcomes");
  for (const name of ["private-a", "private-b"]) {
    assert.equal(outcome.get(name).status, 403);
    assert.match(outcome.get(name).error, /Sign in/);
  }
});

test("a network error fails the channels with status 0; a missing answer with 500", async () => {
  let call = 0;
  const respond = () => (++call === 1 ? new TypeError("network down") : { status: 200, body: { channels: {} } });
  const { outcome, watch } = setup({ respond });
  watch("private-a");
  await until(() => outcome.size === 1, "first outcome");
  assert.equal(outcome.get("private-a").status, 0);
  await settle();
  watch("private-b");
  await until(() => outcome.size === 2, "second outcome");
  assert.equal(outcome.get("private-b").status, 500);
  assert.match(outcome.get("private-b").error, /no answer for private-b/);
});

test("a Bearer token replaces the CSRF header; subscriptions of later ticks batch again", async () => {
  const { fetch, outcome, watch } = setup({ token: "tok-9" });
  watch("private-a");
  await until(() => outcome.size === 1, "first");
  watch("private-b");
  watch("private-c");
  await until(() => outcome.size === 3, "the rest");
  assert.equal(fetch.calls.length, 2);
  for (const call of fetch.calls) {
    assert.equal(call.headers.get("Authorization"), "Bearer tok-9");
    assert.equal(call.headers.get("X-CSRFToken"), null);
  }
});

test("an answer for a socket that is gone is dropped (the new socket asks again)", async () => {
  let release;
  const gate = new Promise((resolve) => (release = resolve));
  const respond = async (call) => {
    if (call.json.socket_id === "1.2") await gate;
    return grantAllBut()(call);
  };
  const { rt, fetch, outcome, watch } = setup({ respond });
  watch("private-a");
  await until(() => fetch.calls.length === 1, "first request");
  rt.pusher.drop();
  rt.pusher.connect("3.4"); // re-subscribes: a second request for the new socket
  await until(() => fetch.calls.length === 2, "second request");
  await until(() => outcome.size === 1, "subscribed on the new socket");
  assert.equal(rt.pusher.channel("private-a").authData.auth, "app-key:sig-private-a");
  outcome.clear();
  release();
  await settle();
  assert.equal(outcome.size, 0, "the stale answer did not subscribe a second time");
});

test("user authentication posts the socket id to userAuthEndpoint", async () => {
  const respond = () => ({ status: 200, body: { auth: "k:u", user_data: '{"id":"7"}' } });
  const { rt, fetch } = setup({ respond });
  const answer = await new Promise((resolve) =>
    rt.pusher.config.userAuthenticator({ socketId: "1.2" }, (error, data) => resolve({ error, data })),
  );
  assert.equal(answer.error, null);
  assert.deepEqual(answer.data, { auth: "k:u", user_data: '{"id":"7"}' });
  const [call] = fetch.calls;
  assert.equal(call.url, "/api/v1/pusher/user-auth");
  assert.equal(call.body, "socket_id=1.2");
  assert.equal(call.headers.get("X-CSRFToken"), "csrf-token-1");
});

test("a refused user authentication reaches pusher-js as an error", async () => {
  const respond = () => ({ status: 403, body: { error: "forbidden", detail: "No." } });
  const { rt } = setup({ respond });
  const answer = await new Promise((resolve) =>
    rt.pusher.config.userAuthenticator({ socketId: "1.2" }, (error, data) => resolve({ error, data })),
  );
  assert.equal(answer.data, null);
  assert.equal(answer.error.status, 403);
});
