// Laravel Echo (npm, broadcaster "pusher") with pusher-js, driven by a test over
// JSON lines, against the app's endpoints: only authEndpoint / userAuthentication
// change from a Laravel set-up; the CSRF token goes in Echo's own X-CSRF-TOKEN.
//
// stdin, one JSON command per line (every command has the client "id"):
//   {"cmd": "connect", "id": "a", "key", "host", "port", "authEndpoint",
//    "userAuthEndpoint", "csrfToken", "cookie"}
//   {"cmd": "private", "id": "a", "name": "teacher", "event": ".quiz-submitted"}
//   {"cmd": "encryptedPrivate", "id": "a", "name": "grades", "event": ".grade"}
//   {"cmd": "channel", "id": "a", "name": "agent-status", "event": ".agent.busy"}
//   {"cmd": "join", "id": "a", "name": "classroom-101"}
//   {"cmd": "leave", "id": "a", "name": "classroom-101"}
//   {"cmd": "post", "id": "a", "url", "body", "headers"}  fetch with X-Socket-ID
//   {"cmd": "exit"}
// stdout, one JSON event per line, with the client "id": ready, connected
// (socket_id), subscribed (channel), error (channel, status), event (channel, name,
// data), here (members), joining (member), leaving (member), posted (status, body).
import readline from "node:readline";
import Echo from "laravel-echo";
import Pusher from "pusher-js";

// In a browser the session cookie travels by itself; Node's XMLHttpRequest (inside
// pusher-js) refuses to set a Cookie header unless told it may: this stands in for
// the browser and changes nothing else of pusher-js.
const createXHR = Pusher.Runtime.createXHR.bind(Pusher.Runtime);
Pusher.Runtime.createXHR = () => {
  const xhr = createXHR();
  xhr.setDisableHeaderCheck(true);
  return xhr;
};

const clients = new Map();

function emit(id, event, payload = {}) {
  process.stdout.write(JSON.stringify({ id, event, ...payload }) + "\n");
}

function connect(cmd) {
  const cookie = { Cookie: cmd.cookie };
  const echo = new Echo({
    broadcaster: "pusher",
    Pusher,
    key: cmd.key,
    cluster: "local", // pusher-js wants one; wsHost decides
    wsHost: cmd.host,
    wsPort: cmd.port,
    forceTLS: false,
    enabledTransports: ["ws"],
    authEndpoint: cmd.authEndpoint, // the one line a Laravel front end changes
    userAuthentication: { endpoint: cmd.userAuthEndpoint, headers: { ...cookie } },
    auth: { headers: { ...cookie } },
    csrfToken: cmd.csrfToken, // Echo sends it as X-CSRF-TOKEN
  });
  clients.set(cmd.id, echo);
  echo.connector.pusher.connection.bind("connected", () =>
    emit(cmd.id, "connected", { socket_id: echo.socketId() }),
  );
}

function watch(cmd, channel, name) {
  channel.subscribed(() => emit(cmd.id, "subscribed", { channel: name }));
  channel.error((error) => emit(cmd.id, "error", { channel: name, status: error?.status ?? null }));
  if (cmd.event) {
    channel.listen(cmd.event, (data) => emit(cmd.id, "event", { channel: name, name: cmd.event, data }));
  }
  return channel;
}

// Echo hands presence callbacks each member's user_info (built by the server).
const member = (info) => info;

const handlers = {
  connect,
  channel: (cmd) => watch(cmd, clients.get(cmd.id).channel(cmd.name), cmd.name),
  private: (cmd) => watch(cmd, clients.get(cmd.id).private(cmd.name), `private-${cmd.name}`),
  encryptedPrivate: (cmd) =>
    watch(cmd, clients.get(cmd.id).encryptedPrivate(cmd.name), `private-encrypted-${cmd.name}`),
  join: (cmd) => {
    const name = `presence-${cmd.name}`;
    watch(cmd, clients.get(cmd.id).join(cmd.name), name)
      .here((members) => emit(cmd.id, "here", { channel: name, members: members.map(member) }))
      .joining((m) => emit(cmd.id, "joining", { channel: name, member: member(m) }))
      .leaving((m) => emit(cmd.id, "leaving", { channel: name, member: member(m) }));
  },
  leave: (cmd) => clients.get(cmd.id).leave(cmd.name),
  post: async (cmd) => {
    // What Echo's axios / fetch interceptors add: the sender's socket id.
    const headers = { "Content-Type": "application/json", ...cmd.headers };
    headers["X-Socket-ID"] = clients.get(cmd.id).socketId();
    const response = await fetch(cmd.url, { method: "POST", headers, body: JSON.stringify(cmd.body) });
    emit(cmd.id, "posted", { status: response.status, body: await response.text() });
  },
  exit: () => shutdown(0),
};

function shutdown(code) {
  for (const echo of clients.values()) echo.disconnect();
  setTimeout(() => process.exit(code), 100).unref();
  setTimeout(() => process.exit(code), 2000);
}

const input = readline.createInterface({ input: process.stdin });
input.on("line", async (line) => {
  let cmd;
  try {
    cmd = JSON.parse(line);
    await handlers[cmd.cmd](cmd);
  } catch (error) {
    emit(cmd?.id ?? null, "failure", { message: String(error?.stack ?? error) });
  }
});
input.on("close", () => shutdown(0));
process.on("uncaughtException", (error) => emit(null, "failure", { message: String(error?.stack ?? error) }));
emit(null, "ready");
