// The React hooks under React 18.3.1 and react-test-renderer, StrictMode included,
// on a real createRealtime() with the fake Pusher.
import assert from "node:assert/strict";
import { test } from "node:test";

import * as React from "react";
import TestRenderer from "react-test-renderer";

import { createRealtime } from "../../django_toolbox_realtime/static/django_toolbox_realtime/realtime.js";
import {
  RealtimeProvider,
  useConnectionState,
  usePresence,
  usePusherChannel,
  usePusherEvent,
} from "../../django_toolbox_realtime/static/django_toolbox_realtime/realtime-react.js";
import { CONFIG, FakePusher, ORIGIN, fakeFetch, grantAllBut, isBatch, settle } from "./fakes.mjs";

globalThis.IS_REACT_ACT_ENVIRONMENT = true;
const { act } = TestRenderer;
const h = React.createElement;

function connectedRt() {
  const fetch = fakeFetch(grantAllBut());
  const rt = createRealtime({ config: CONFIG, Pusher: FakePusher, fetch, origin: ORIGIN });
  rt.pusher.connect("9.9");
  const subscribes = [];
  const subscribe = rt.pusher.subscribe.bind(rt.pusher);
  rt.pusher.subscribe = (name) => {
    subscribes.push(name);
    return subscribe(name);
  };
  return { rt, fetch, subscribes, batches: () => fetch.calls.filter(isBatch).length };
}

async function render(rt, element, { strict = false } = {}) {
  const tree = h(RealtimeProvider, { rt }, strict ? h(React.StrictMode, null, element) : element);
  let renderer;
  await act(async () => {
    renderer = TestRenderer.create(tree);
    await settle();
  });
  return {
    renderer,
    update: (next) =>
      act(async () => {
        renderer.update(h(RealtimeProvider, { rt }, strict ? h(React.StrictMode, null, next) : next));
        await settle();
      }),
    unmount: () =>
      act(async () => {
        renderer.unmount();
        await settle();
      }),
  };
}

function Channel({ name, seen }) {
  const channel = usePusherChannel(name);
  seen.push(channel ? channel.name : null);
  return null;
}

for (const strict of [false, true]) {
  const mode = strict ? "under StrictMode" : "";
  test(`usePusherChannel subscribes once and leaves on unmount ${mode}`, async () => {
    const { rt, subscribes, batches } = connectedRt();
    const seen = [];
    const view = await render(rt, h(Channel, { name: "private-teacher", seen }), { strict });
    assert.equal(seen.at(-1), "private-teacher");
    assert.deepEqual(subscribes, ["private-teacher"], "one pusher subscription");
    assert.equal(batches(), 1, "one authorization");
    assert.ok(rt.pusher.channel("private-teacher").subscribed);
    assert.deepEqual(rt.pusher.sent, [], "strict mode's double effect dropped nothing");
    await view.unmount();
    assert.deepEqual(rt.pusher.sent, [["unsubscribe", "private-teacher"]]);
  });

  test(`usePusherEvent delivers each event once, to the latest callback ${mode}`, async () => {
    const { rt, subscribes } = connectedRt();
    const calls = [];
    function Listener({ tag }) {
      usePusherEvent("public-x", "tick", (data, meta) => calls.push([tag, data.n, meta.seq]));
      return null;
    }
    const view = await render(rt, h(Listener, { tag: "first" }), { strict });
    const channel = () => rt.pusher.channel("public-x");
    await act(async () => channel().emit("tick", { _rt: { id: "a", seq: 1 }, n: 1 }));
    await view.update(h(Listener, { tag: "second" }));
    await act(async () => channel().emit("tick", { _rt: { id: "b", seq: 2 }, n: 2 }));
    assert.deepEqual(calls, [["first", 1, 1], ["second", 2, 2]]);
    assert.deepEqual(subscribes, ["public-x"], "a new callback does not resubscribe");
    await view.unmount();
    assert.deepEqual(rt.pusher.sent, [["unsubscribe", "public-x"]]);
  });
}

test("two components on one channel: it stays until the last one unmounts", async () => {
  const { rt } = connectedRt();
  const seen = [];
  const both = h(React.Fragment, null, h(Channel, { name: "private-a", seen }), h(Channel, { name: "private-a", seen }));
  const view = await render(rt, both);
  await view.update(h(Channel, { name: "private-a", seen }));
  assert.deepEqual(rt.pusher.sent, []);
  await view.update(h(Channel, { name: "private-b", seen }));
  assert.deepEqual(rt.pusher.sent, [["unsubscribe", "private-a"]]);
  assert.ok(rt.pusher.channel("private-b").subscribed);
});

test("usePresence follows the members of a presence channel", async () => {
  const { rt } = connectedRt();
  const snapshots = [];
  function Panel() {
    snapshots.push(usePresence("presence-classroom-101"));
    return null;
  }
  const members = new Map([["1", { name: "Tom Teacher" }]]);
  const fakeMembers = {
    each: (fn) => members.forEach((info, id) => fn({ id, info })),
    get count() {
      return members.size;
    },
    me: { id: "1", info: { name: "Tom Teacher" } },
  };
  await render(rt, h(Panel), { strict: true });
  const channel = rt.pusher.channel("presence-classroom-101");
  channel.members = fakeMembers;
  await act(async () => channel.emit("pusher:subscription_succeeded", {}));
  assert.deepEqual(snapshots.at(-1), {
    members: [{ id: "1", info: { name: "Tom Teacher" } }],
    count: 1,
    me: { id: "1", info: { name: "Tom Teacher" } },
  });
  members.set("2", { name: "Sam Student" });
  await act(async () => channel.emit("pusher:member_added", { id: "2", info: { name: "Sam Student" } }));
  assert.equal(snapshots.at(-1).count, 2);
  assert.deepEqual(snapshots.at(-1).members.map((m) => m.id), ["1", "2"]);
  members.delete("1");
  await act(async () => channel.emit("pusher:member_removed", { id: "1" }));
  assert.deepEqual(snapshots.at(-1).members, [{ id: "2", info: { name: "Sam Student" } }]);
});

test("useConnectionState re-renders with the state and the retry countdown", async () => {
  const fetch = fakeFetch(grantAllBut());
  const rt = createRealtime({ config: CONFIG, Pusher: FakePusher, fetch, origin: ORIGIN });
  const states = [];
  function Badge() {
    states.push(useConnectionState());
    return null;
  }
  const view = await render(rt, h(Badge), { strict: true });
  assert.equal(states.at(-1).current, "initialized");
  await act(async () => rt.pusher.connect("1.1"));
  assert.equal(states.at(-1).current, "connected");
  await act(async () => {
    rt.pusher.connection.setState("connecting");
    rt.pusher.connection.setState("unavailable");
    rt.pusher.connection.emit("connecting_in", 3);
  });
  assert.deepEqual(states.at(-1), { current: "unavailable", previous: "connecting", retryIn: 3 });
  await view.unmount();
  const count = states.length;
  rt.pusher.connection.setState("connecting");
  assert.equal(states.length, count, "no update after unmount");
});

test("a hook outside RealtimeProvider says what is missing", () => {
  function Lost() {
    usePusherChannel("public-x");
    return null;
  }
  const errors = console.error;
  console.error = () => {}; // React logs the render error too
  try {
    assert.throws(() => act(() => TestRenderer.create(h(Lost))), /RealtimeProvider/);
  } finally {
    console.error = errors;
  }
});
