// React hooks over realtime.js (ES module, React 18 as a peer: the page maps "react"
// with an import map; bundlers and Node resolve it from node_modules).
//
//   <RealtimeProvider rt={createRealtime()}> ... </RealtimeProvider>
//   usePusherEvent("private-teacher", "quiz-submitted", (data, meta) => add(data));
//   const { members, count, me } = usePresence("presence-classroom-101");
//   const { current, retryIn } = useConnectionState();
//
// Subscriptions are counted by rt (each subscribe released by one unsubscribe, the
// last one deferred by a tick), so StrictMode's mount-unmount-mount neither leaks a
// subscription nor drops one, and components may share a channel.

import * as React from "react";

const RealtimeContext = React.createContext(null);

/** Hands `rt` (from createRealtime) to the hooks below it. */
export function RealtimeProvider({ rt, children }) {
  return React.createElement(RealtimeContext.Provider, { value: rt }, children);
}

/** The rt of the nearest RealtimeProvider. */
export function useRealtime() {
  const rt = React.useContext(RealtimeContext);
  if (!rt) throw new Error("realtime: wrap the component in <RealtimeProvider rt={createRealtime()}>.");
  return rt;
}

/** The pusher-js Channel of `name` (null until subscribed, or for a falsy name). */
export function usePusherChannel(name) {
  const rt = useRealtime();
  const [channel, setChannel] = React.useState(null);
  React.useEffect(() => {
    if (!name) {
      setChannel(null);
      return undefined;
    }
    setChannel(rt.subscribe(name));
    return () => rt.unsubscribe(name);
  }, [rt, name]);
  return channel && channel.name === name ? channel : null;
}

/**
 * Call `callback(data, meta)` for `event` on channel `name` (live and caught-up
 * events, each once). A new callback on each render is fine: the latest one is
 * called, without resubscribing.
 */
export function usePusherEvent(name, event, callback) {
  const rt = useRealtime();
  const latest = React.useRef(callback);
  React.useLayoutEffect(() => {
    latest.current = callback;
  });
  React.useEffect(() => {
    if (!name || !event) return undefined;
    rt.subscribe(name);
    const unbind = rt.bind(name, event, (data, meta) => latest.current?.(data, meta));
    return () => {
      unbind();
      rt.unsubscribe(name);
    };
  }, [rt, name, event]);
}

const NOBODY = Object.freeze({ members: [], count: 0, me: null });

function membersOf(channel) {
  const members = [];
  channel.members.each((member) => members.push({ id: member.id, info: member.info }));
  const me = channel.members.me;
  return { members, count: channel.members.count, me: me ? { id: me.id, info: me.info } : null };
}

/** `{members: [{id, info}], count, me}` of a presence channel, kept current. */
export function usePresence(name) {
  const rt = useRealtime();
  const channel = usePusherChannel(name);
  const [snapshot, setSnapshot] = React.useState(NOBODY);
  React.useEffect(() => {
    if (!channel) {
      setSnapshot(NOBODY);
      return undefined;
    }
    const update = () => setSnapshot(channel.subscribed ? membersOf(channel) : NOBODY);
    const events = ["pusher:subscription_succeeded", "pusher:member_added", "pusher:member_removed"];
    for (const event of events) channel.bind(event, update);
    const stopState = rt.onStateChange(update); // a lost connection empties the list
    update();
    return () => {
      for (const event of events) channel.unbind(event, update);
      stopState();
    };
  }, [rt, channel]);
  return snapshot;
}

/** `{current, previous, retryIn}`: the connection's state, re-rendered on change. */
export function useConnectionState() {
  const rt = useRealtime();
  const [state, setState] = React.useState(() => rt.state);
  React.useEffect(() => {
    setState(rt.state);
    return rt.onStateChange(setState);
  }, [rt]);
  return state;
}
