// The connection badge: connecting / live / unavailable (with the retry countdown
// pusher-js gives) / failed, from rt.onStateChange.

const LABELS = {
  initialized: "Connecting…",
  connecting: "Connecting…",
  connected: "Live",
  unavailable: "Offline",
  failed: "Live updates unavailable",
  disconnected: "Disconnected",
  off: "Live updates off",
};

export function connectionBadge(node) {
  const text = node.querySelector("[data-badge-text]");
  let timer = null;

  const stopCountdown = () => {
    if (timer) clearInterval(timer);
    timer = null;
  };

  const show = (state, retryIn = null) => {
    stopCountdown();
    node.dataset.state = state;
    text.textContent = LABELS[state] || state;
    node.title = state === "failed"
      ? "This browser cannot open a WebSocket to the realtime server."
      : `Live connection: ${state}`;
    if (state === "unavailable" && retryIn) {
      let left = Math.max(Math.round(retryIn), 1);
      const tick = () => {
        text.textContent = left > 0 ? `Offline · retrying in ${left}s` : "Offline · retrying…";
        left -= 1;
        if (left < 0) stopCountdown();
      };
      tick();
      timer = setInterval(tick, 1000);
    }
  };

  return {
    show,
    update: ({current, retryIn}) => show(current, retryIn),
  };
}
