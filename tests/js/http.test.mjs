// rt.fetch / realtimeFetch / the XHR hook: X-Socket-ID and CSRF only where they belong.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createRealtime, realtimeFetch } from "../../django_toolbox_realtime/static/django_toolbox_realtime/realtime.js";
import { CONFIG, FakePusher, ORIGIN, fakeFetch } from "./fakes.mjs";

function connected(options = {}) {
  const fetch = fakeFetch();
  const rt = createRealtime({ config: CONFIG, Pusher: FakePusher, fetch, origin: ORIGIN, ...options });
  rt.pusher.connect("111.222");
  return { rt, fetch };
}

test("same-origin fetch gets X-Socket-ID, unsafe methods also the CSRF header", async () => {
  const { rt, fetch } = connected();
  await rt.fetch("/api/v1/agents/grader/status", { method: "POST", body: "{}" });
  await realtimeFetch(rt, `${ORIGIN}/api/v1/things`);
  const [post, get] = fetch.calls;
  assert.equal(post.headers.get("X-Socket-ID"), "111.222");
  assert.equal(post.headers.get("X-CSRFToken"), "csrf-token-1");
  assert.equal(get.headers.get("X-Socket-ID"), "111.222");
  assert.equal(get.headers.get("X-CSRFToken"), null, "GET is safe: no CSRF token");
});

test("other origins get neither header", async () => {
  const { rt, fetch } = connected();
  await rt.fetch("https://evil.example/collect", { method: "POST" });
  await rt.fetch("//evil.example/x", { method: "PUT" });
  await rt.fetch("http://app.example/plain-http", { method: "POST" }); // another scheme
  for (const call of fetch.calls) {
    assert.equal(call.headers.get("X-Socket-ID"), null, call.url);
    assert.equal(call.headers.get("X-CSRFToken"), null, call.url);
  }
  assert.equal(fetch.calls.length, 3);
});

test("headers the caller set win; the caller's init is not mutated", async () => {
  const { rt, fetch } = connected();
  const init = { method: "DELETE", headers: { "X-CSRFToken": "mine", Accept: "text/plain" } };
  await rt.fetch("/x", init);
  const [call] = fetch.calls;
  assert.equal(call.headers.get("X-CSRFToken"), "mine");
  assert.equal(call.headers.get("Accept"), "text/plain");
  assert.equal(call.headers.get("X-Socket-ID"), "111.222");
  assert.deepEqual(init.headers, { "X-CSRFToken": "mine", Accept: "text/plain" });
});

test("before the socket connects no X-Socket-ID is sent", async () => {
  const fetch = fakeFetch();
  const rt = createRealtime({ config: CONFIG, Pusher: FakePusher, fetch, origin: ORIGIN });
  await rt.fetch("/x", { method: "POST" });
  assert.equal(fetch.calls[0].headers.get("X-Socket-ID"), null);
  assert.equal(fetch.calls[0].headers.get("X-CSRFToken"), "csrf-token-1");
});

test("with a Bearer token no CSRF header is added (the token is the credential)", async () => {
  const { rt, fetch } = connected({ token: "tok-1" });
  await rt.fetch("/x", { method: "POST" });
  assert.equal(fetch.calls[0].headers.get("X-CSRFToken"), null);
  assert.equal(fetch.calls[0].headers.get("X-Socket-ID"), "111.222");
  assert.equal(fetch.calls[0].headers.get("Authorization"), null, "rt.fetch never adds the token");
});

// A minimal XMLHttpRequest: records open() and the headers set before send().
class FakeXHR {
  static sent = [];
  open(method, url) {
    this.method = method;
    this.url = url;
    this.headers = {};
  }
  setRequestHeader(name, value) {
    this.headers[name] = this.headers[name] ? `${this.headers[name]}, ${value}` : value;
  }
  send(body) {
    FakeXHR.sent.push({ method: this.method, url: this.url, headers: { ...this.headers }, body });
  }
}

test("the XHR hook adds the headers on same-origin sends only, and uninstalls", () => {
  const { rt } = connected();
  const uninstall = rt.installXHRHook(FakeXHR);
  const send = (method, url, preset = {}) => {
    const xhr = new FakeXHR();
    xhr.open(method, url);
    for (const [name, value] of Object.entries(preset)) xhr.setRequestHeader(name, value);
    xhr.send(null);
    return FakeXHR.sent.at(-1).headers;
  };
  assert.deepEqual(send("POST", "/api/x"), { "X-Socket-ID": "111.222", "X-CSRFToken": "csrf-token-1" });
  assert.deepEqual(send("get", `${ORIGIN}/api/x`), { "X-Socket-ID": "111.222" });
  assert.deepEqual(send("POST", "https://cdn.example/x"), {});
  assert.deepEqual(send("PATCH", "/api/x", { "X-CSRFToken": "own" }), {
    "X-CSRFToken": "own",
    "X-Socket-ID": "111.222",
  }, "a header the page set is not doubled");
  uninstall();
  assert.deepEqual(send("POST", "/api/x"), {});
});
