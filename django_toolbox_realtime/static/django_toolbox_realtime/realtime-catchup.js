// Per-channel tracking of realtime.js: the handlers bound with rt.bind, the last
// "_rt" seq seen, a bounded set of recent event ids (repeats are dropped), and the
// catch-up from the history endpoint after a reconnect, a wake-up or a seq gap.
// Live events that arrive while a channel catches up wait, then follow in order.
// The page's own events (the ids of X-Realtime-Event-Ids, see markOwn) are never
// dispatched: the server left them out of this connection on purpose.

// The largest `after` the history endpoint takes (18 digits): asked with limit=1,
// it answers with no events, only the channel's position (last_seq) if it gives one.
const BASELINE_AFTER = "999999999999999999";
const MAX_PAGES = 50; // a bound on one catch-up: 50 pages of HISTORY_PAGE_MAX events

function envelopeOf(data) {
  const rt = data && typeof data === "object" ? data._rt : null;
  if (!rt || typeof rt !== "object") return { id: null, seq: null };
  return {
    id: typeof rt.id === "string" ? rt.id : null,
    seq: Number.isSafeInteger(rt.seq) ? rt.seq : null,
  };
}

export class ChannelTracker {
  /**
   * historyEndpoint: URL or null (no catch-up); request(url, init) -> Promise<Response>;
   * recentIds: ids remembered per channel; report(error); onMissed({channel, after, oldestSeq}).
   */
  constructor({ historyEndpoint, request, recentIds = 500, report, onMissed }) {
    this.historyEndpoint = historyEndpoint || null;
    this.request = request;
    this.recentIds = recentIds;
    this.report = report;
    this.onMissed = onMissed;
    this.channels = new Map();
    this.serverGivesLastSeq = null; // unknown until the first baseline answer
    this.own = new Set(); // the page's own event ids, any channel (the last recentIds)
  }

  /** The ids of events this page caused and the server sent without it (its echo). */
  markOwn(ids) {
    for (const id of ids) {
      this.own.delete(id); // re-added as the newest
      this.own.add(id);
      if (this.own.size > this.recentIds) this.own.delete(this.own.values().next().value);
    }
  }

  get(name) {
    return this.channels.get(name);
  }

  state(name) {
    let st = this.channels.get(name);
    if (!st) {
      st = { name, handlers: new Map(), last: null, seen: new Set(), buffer: [], catching: null,
        count: 0, channel: null, listeners: null, needsCatchUp: false, releaseTimer: null };
      this.channels.set(name, st);
    }
    return st;
  }

  /** Listen to a pusher-js channel (once per Channel object). */
  attach(name, channel) {
    const st = this.state(name);
    if (st.channel === channel) return;
    this.unlisten(st);
    const onEvent = (event, data) => {
      if (event.startsWith("pusher:") || event.startsWith("pusher_internal:")) {
        this.dispatch(st, event, data, { id: null, seq: null, channel: name, replayed: false });
      } else this.live(st, event, data);
    };
    const onSubscribed = () => this.subscribed(st);
    channel.bind_global(onEvent);
    channel.bind("pusher:subscription_succeeded", onSubscribed);
    st.channel = channel;
    st.listeners = { onEvent, onSubscribed };
  }

  unlisten(st) {
    if (st.channel && st.listeners) {
      st.channel.unbind_global(st.listeners.onEvent);
      st.channel.unbind("pusher:subscription_succeeded", st.listeners.onSubscribed);
    }
    st.channel = null;
    st.listeners = null;
  }

  /** Forget a channel: handlers, position, ids. */
  drop(name) {
    const st = this.channels.get(name);
    if (!st) return;
    this.unlisten(st);
    this.channels.delete(name);
  }

  bind(name, event, handler) {
    const st = this.state(name);
    if (!st.handlers.has(event)) st.handlers.set(event, new Set());
    st.handlers.get(event).add(handler);
    return () => {
      st.handlers.get(event)?.delete(handler);
      if (st.count === 0 && !st.channel && ![...st.handlers.values()].some((set) => set.size)) {
        if (this.channels.get(name) === st) this.channels.delete(name);
      }
    };
  }

  lastSeq(name) {
    return this.channels.get(name)?.last ?? null;
  }

  /** The connection is back: every channel catches up once it is subscribed again. */
  reconnected() {
    for (const st of this.channels.values()) st.needsCatchUp = true;
  }

  subscribed(st) {
    if (st.last === null) {
      st.needsCatchUp = false;
      this.baseline(st);
    } else if (st.needsCatchUp) {
      st.needsCatchUp = false;
      this.catchUp(st.name);
    }
  }

  live(st, event, data) {
    if (st.catching) {
      st.buffer.push([event, data]);
      return;
    }
    const { id, seq } = envelopeOf(data);
    const gap = seq !== null && st.last !== null && seq > st.last + 1 && !(id && st.seen.has(id));
    if (gap && this.historyEndpoint) {
      st.buffer.push([event, data]);
      this.catchUp(st.name);
      return;
    }
    this.deliver(st, event, data, false);
  }

  deliver(st, event, data, replayed) {
    const { id, seq } = envelopeOf(data);
    // The position moves first: a repeat or an own event is still a seq received, and
    // left behind it would make the next event look like a gap (a catch-up again).
    if (seq !== null && (st.last === null || seq > st.last)) st.last = seq;
    if (id !== null) {
      if (st.seen.has(id)) return; // a repeat (at-least-once delivery, or live and replayed)
      st.seen.add(id);
      if (st.seen.size > this.recentIds) st.seen.delete(st.seen.values().next().value);
      if (this.own.has(id)) return; // our own change, its echo excluded by the server
    }
    this.dispatch(st, event, data, { id, seq, channel: st.name, replayed });
  }

  dispatch(st, event, data, meta) {
    for (const handler of [...(st.handlers.get(event) ?? [])]) {
      try {
        handler(data, meta);
      } catch (error) {
        this.report(error);
      }
    }
  }

  url(name, after, limit) {
    const joiner = this.historyEndpoint.includes("?") ? "&" : "?";
    const tail = limit ? `&limit=${limit}` : "";
    return `${this.historyEndpoint}${joiner}channel=${encodeURIComponent(name)}&after=${after}${tail}`;
  }

  async getJson(url) {
    const response = await this.request(url, { method: "GET", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`History of the channel: HTTP ${response.status} from ${url}`);
    return response.json();
  }

  /** Ask the server for a channel's position (its last seq) when nothing arrived yet. */
  async baseline(st) {
    if (!this.historyEndpoint || this.serverGivesLastSeq === false) return;
    try {
      const body = await this.getJson(this.url(st.name, BASELINE_AFTER, 1));
      const known = body && Number.isSafeInteger(body.last_seq);
      if (this.serverGivesLastSeq === null) this.serverGivesLastSeq = Boolean(body && "last_seq" in body);
      if (known && st.last === null && this.channels.get(st.name) === st) st.last = body.last_seq;
    } catch (error) {
      this.report(error);
    }
  }

  /** Fetch and deliver what `name` missed after its last seq; one run at a time. */
  catchUp(name) {
    const st = this.channels.get(name);
    if (!st || !this.historyEndpoint) return Promise.resolve();
    if (st.catching) return st.catching;
    st.catching = this.replay(st).finally(() => {
      st.catching = null;
      const held = st.buffer;
      st.buffer = [];
      for (const [event, data] of held) this.deliver(st, event, data, false);
    });
    return st.catching;
  }

  async replay(st) {
    if (st.last === null) return;
    let after = st.last;
    try {
      for (let page = 0; page < MAX_PAGES; page++) {
        const body = await this.getJson(this.url(st.name, after));
        if (page === 0 && body.oldest_seq !== null && body.oldest_seq > after + 1) {
          this.onMissed?.({ channel: st.name, after, oldestSeq: body.oldest_seq });
        }
        for (const item of body.events ?? []) this.deliver(st, item.event, item.data, true);
        if (!body.truncated || !(body.next_after > after)) return;
        after = body.next_after;
      }
    } catch (error) {
      this.report(error);
    }
  }

  catchUpAll() {
    return Promise.all([...this.channels.values()].filter((st) => st.count > 0).map((st) => this.catchUp(st.name)));
  }
}
