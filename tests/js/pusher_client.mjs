// pusher-js (the real client library, Node build) driven by a test over JSON lines.
//
// stdin, one JSON command per line:
//   {"cmd": "connect", "id": "c1", "key": ..., "host": ..., "port": ...,
//    "authEndpoint": ..., "userAuthEndpoint": ..., "token": ...}
//   {"cmd": "subscribe", "id": "c1", "channel": "private-teacher"}
//   {"cmd": "signin", "id": "c1"}
//   {"cmd": "disconnect", "id": "c1"}
//   {"cmd": "exit"}
// stdout, one JSON event per line, always with the client "id":
//   state (previous, current), connected (socket_id), subscribed (channel, members),
//   subscription_error (channel, status, error), member_added / member_removed,
//   channel_event (channel, name, data), user_event (name, data),
//   signin_success (user_data), message (raw protocol message), error, closed.
import readline from "node:readline";
import Pusher from "pusher-js";

const clients = new Map();

function emit(id, event, payload = {}) {
  process.stdout.write(JSON.stringify({ id, event, ...payload }) + "\n");
}

function membersOf(channel) {
  const members = [];
  channel.members.each((member) => members.push({ id: member.id, info: member.info }));
  return members;
}

function connect(cmd) {
  const headers = { Authorization: `Bearer ${cmd.token}` };
  const pusher = new Pusher(cmd.key, {
    cluster: "local", // required by the constructor, unused with wsHost
    wsHost: cmd.host,
    wsPort: cmd.port,
    forceTLS: false,
    enabledTransports: ["ws"],
    channelAuthorization: { endpoint: cmd.authEndpoint, transport: "ajax", headers },
    userAuthentication: { endpoint: cmd.userAuthEndpoint, transport: "ajax", headers },
  });
  clients.set(cmd.id, pusher);
  const connection = pusher.connection;
  connection.bind("state_change", (states) =>
    emit(cmd.id, "state", { previous: states.previous, current: states.current }),
  );
  connection.bind("connected", () => emit(cmd.id, "connected", { socket_id: connection.socket_id }));
  connection.bind("message", (message) => emit(cmd.id, "message", { message }));
  connection.bind("error", (error) => emit(cmd.id, "error", { error: describe(error) }));
  connection.bind("closed", (event) => emit(cmd.id, "closed", { event: describe(event) }));
}

function describe(value) {
  try {
    return JSON.parse(JSON.stringify(value ?? null));
  } catch {
    return String(value);
  }
}

function subscribe(cmd) {
  const channel = clients.get(cmd.id).subscribe(cmd.channel);
  channel.bind("pusher:subscription_succeeded", () => {
    const payload = { channel: cmd.channel };
    if (cmd.channel.startsWith("presence-")) {
      payload.members = membersOf(channel);
      payload.me = channel.members.me;
    }
    emit(cmd.id, "subscribed", payload);
  });
  channel.bind("pusher:subscription_error", (error) =>
    emit(cmd.id, "subscription_error", {
      channel: cmd.channel,
      status: error.status,
      error: describe(error.error ?? error),
    }),
  );
  channel.bind("pusher:member_added", (member) =>
    emit(cmd.id, "member_added", { channel: cmd.channel, member: { id: member.id, info: member.info } }),
  );
  channel.bind("pusher:member_removed", (member) =>
    emit(cmd.id, "member_removed", { channel: cmd.channel, member: { id: member.id } }),
  );
  channel.bind_global((event, data) => {
    if (!event.startsWith("pusher:")) emit(cmd.id, "channel_event", { channel: cmd.channel, name: event, data });
  });
}

function signin(cmd) {
  const pusher = clients.get(cmd.id);
  pusher.user.bind_global((event, data) => {
    if (!event.startsWith("pusher:")) emit(cmd.id, "user_event", { name: event, data });
  });
  pusher.connection.bind("message", (message) => {
    if (message.event === "pusher:signin_success") {
      emit(cmd.id, "signin_success", { user_data: message.data.user_data });
    }
  });
  pusher.signin();
}

const handlers = {
  connect,
  subscribe,
  signin,
  disconnect: (cmd) => {
    clients.get(cmd.id)?.disconnect();
    clients.delete(cmd.id);
  },
  exit: () => shutdown(0),
};

function shutdown(code) {
  for (const pusher of clients.values()) pusher.disconnect();
  // Let the close frames go out, then leave even if a socket hangs.
  setTimeout(() => process.exit(code), 100).unref();
  setTimeout(() => process.exit(code), 2000);
}

const input = readline.createInterface({ input: process.stdin });
input.on("line", (line) => {
  if (!line.trim()) return;
  let cmd;
  try {
    cmd = JSON.parse(line);
    const handler = handlers[cmd.cmd];
    if (!handler) throw new Error(`unknown command ${cmd.cmd}`);
    if (cmd.cmd !== "connect" && cmd.cmd !== "exit" && !clients.has(cmd.id)) {
      throw new Error(`no client ${cmd.id}`);
    }
    handler(cmd);
  } catch (error) {
    emit(cmd?.id ?? null, "driver_error", { error: String(error) });
  }
});
input.on("close", () => shutdown(0)); // the test went away: never linger
emit(null, "ready", { pusher: Pusher.VERSION });
