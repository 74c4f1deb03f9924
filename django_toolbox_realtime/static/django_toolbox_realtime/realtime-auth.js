// pusher-js authorizers of realtime.js. Channel authorizations asked for in the
// same tick are sent as one POST to the batch endpoint (in chunks of batchMax)
// and each channel gets its own answer; user authentication is a plain POST.

/** An Error with the HTTP status, the shape pusher-js gives its own auth errors. */
export function authError(status, message) {
  const error = new Error(message);
  error.status = status;
  return error;
}

async function readJson(response) {
  try {
    return await response.json();
  } catch {
    return null; // an HTML error page, an empty body
  }
}

function describe(body, status, endpoint) {
  const detail = body && (body.detail || body.error);
  return detail ? String(detail) : `HTTP ${status} from ${endpoint}`;
}

/**
 * The pusher-js `channelAuthorization.customHandler`.
 *   request(url, init) -> Promise<Response>  (adds the credentials)
 *   isCurrent(socketId) -> whether that socket is still the connection's
 *   deny(channelName, status, message, callback)  (reports one refused channel)
 */
export function batchAuthorizer({ endpoint, batchMax, request, isCurrent, deny }) {
  const size = Number.isInteger(batchMax) && batchMax > 0 ? batchMax : 50;
  let queue = [];
  let scheduled = false;

  function flush() {
    scheduled = false;
    const bySocket = new Map(); // socketId -> Map(channel -> [callbacks])
    for (const { channelName, socketId, callback } of queue) {
      if (!bySocket.has(socketId)) bySocket.set(socketId, new Map());
      const byName = bySocket.get(socketId);
      if (!byName.has(channelName)) byName.set(channelName, []);
      byName.get(channelName).push(callback); // a name asked twice is sent once
    }
    queue = [];
    for (const [socketId, byName] of bySocket) {
      const names = [...byName.keys()];
      for (let start = 0; start < names.length; start += size) {
        send(socketId, names.slice(start, start + size), byName);
      }
    }
  }

  async function send(socketId, names, byName) {
    let answers = null;
    let failure = null;
    try {
      const response = await request(endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ socket_id: socketId, channels: names }),
      });
      const body = await readJson(response);
      if (!response.ok) failure = { status: response.status, message: describe(body, response.status, endpoint) };
      else if (!body || typeof body.channels !== "object" || body.channels === null) {
        failure = { status: 500, message: `No "channels" in the answer of ${endpoint}.` };
      } else answers = body.channels;
    } catch (error) {
      failure = { status: 0, message: `Batch authorization failed: ${error && error.message}` };
    }
    // Answers for a socket that has gone are void: pusher-js asks again for the new one.
    if (!isCurrent(socketId)) return;
    for (const name of names) {
      for (const callback of byName.get(name)) {
        try {
          settle(name, failure, answers && answers[name], callback);
        } catch (error) {
          console.error(error); // one channel's handler must not cost the others their answer
        }
      }
    }
  }

  function settle(name, failure, answer, callback) {
    if (failure) deny(name, failure.status, failure.message, callback);
    else if (answer && typeof answer.auth === "string") callback(null, { ...answer });
    else if (answer && answer.status) deny(name, answer.status, String(answer.error || `HTTP ${answer.status}`), callback);
    else deny(name, 500, `Batch authorization gave no answer for ${name}.`, callback);
  }

  return function authorize({ channelName, socketId }, callback) {
    queue.push({ channelName, socketId, callback });
    if (!scheduled) {
      scheduled = true;
      setTimeout(flush, 0); // everything subscribed in this tick goes in one request
    }
  };
}

/** The pusher-js `userAuthentication.customHandler` (signin). */
export function userAuthenticator({ endpoint, request }) {
  return function authenticate({ socketId }, callback) {
    request(endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: `socket_id=${encodeURIComponent(socketId)}`,
    })
      .then(async (response) => {
        const body = await readJson(response);
        if (response.ok && body && typeof body.auth === "string") callback(null, body);
        else callback(authError(response.status, describe(body, response.status, endpoint)), null);
      })
      .catch((error) => callback(authError(0, `User authentication failed: ${error && error.message}`), null));
  };
}
