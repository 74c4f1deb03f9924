// The admins' agent status board: a card per agent, coloured by status, with the
// time of the last change, who made it and the task counters. Other admins'
// changes arrive on private-agent-<id>; this tab's own change is shown from the
// answer to its POST (rt.fetch sends X-Socket-ID, so the server skips our echo, and
// realtime.js keeps it from our handlers when a catch-up replays it: the answer's
// X-Realtime-Event-Ids header names it).
import {clockTime, postJSON, toast} from "./ui.js";

const EVENTS = ["agent.started", "agent.idle", "agent.busy", "agent.error", "agent.stopped"];
const LABELS = {idle: "Idle", busy: "Busy", error: "Error", offline: "Offline"};

export function agentCard(rt, card) {
  const label = card.querySelector("[data-status]");
  const updated = card.querySelector("[data-updated]");
  const by = card.querySelector("[data-by]");
  const completed = card.querySelector("[data-completed]");
  const failed = card.querySelector("[data-failed]");
  const buttons = [...card.querySelectorAll("[data-set-status]")];

  const apply = (data) => {
    card.dataset.statusValue = data.status;
    label.textContent = LABELS[data.status] || data.status;
    if (data.updated_at) {
      updated.setAttribute("datetime", data.updated_at);
      updated.textContent = clockTime(data.updated_at);
    }
    by.textContent = data.by ? `by ${data.by}` : "";
    if (data.tasks_completed !== undefined) completed.textContent = String(data.tasks_completed);
    if (data.tasks_failed !== undefined) failed.textContent = String(data.tasks_failed);
    buttons.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.setStatus === data.status)));
    card.classList.remove("flash");
    void card.offsetWidth; // restart the highlight animation
    card.classList.add("flash");
  };

  for (const name of EVENTS) {
    rt.bind(card.dataset.channel, name, apply);
  }
  apply({status: card.dataset.statusValue, by: by.textContent.replace(/^by /, "")});
  card.classList.remove("flash");

  buttons.forEach((button) => button.addEventListener("click", async () => {
    buttons.forEach((b) => { b.disabled = true; });
    const {ok, body} = await postJSON(rt, card.dataset.url, {status: button.dataset.setStatus});
    buttons.forEach((b) => { b.disabled = false; });
    if (ok) {
      apply(body);
    } else {
      toast({title: card.dataset.agent, message: body.detail || "The change was refused.", level: "warning"});
    }
  }));
}
