// The dashboard's entry point: one realtime client for the page (realtime.js,
// configured by {% realtime_config %}), then each panel the page rendered. All
// subscriptions are made in this one tick, so realtime.js authorizes the private
// and presence channels with one batch request.
import {createRealtime, readConfig} from "realtime";

import {agentCard} from "./agents.js";
import {connectionBadge} from "./badge.js";
import {notifyForm} from "./notify.js";
import {presencePanel} from "./presence.js";
import {quizForm, resultCard} from "./quiz.js";
import {submissionsTable} from "./submissions.js";
import {fillAvatars, localizeTimes, requestsOnly, toast} from "./ui.js";

const NOTIFICATIONS = "public-notifications";

function start() {
  const config = readConfig();
  const root = document.querySelector(".dashboard-grid");
  const badge = connectionBadge(document.getElementById("connection-badge"));
  fillAvatars();
  localizeTimes();
  let rt;
  if (config.enabled) {
    rt = createRealtime({config});
    rt.onStateChange(badge.update);
  } else {
    badge.show("off"); // the forms still work; nothing moves by itself
    rt = requestsOnly(config);
  }
  window.dashboardRealtime = rt; // for the browser console

  // Everyone's notifications, and those of the user's role (private-student, ...).
  const notices = [NOTIFICATIONS, ...(root?.dataset.noticeChannels || "").split(" ").filter(Boolean)];
  for (const name of notices) {
    rt.subscribe(name);
    rt.bind(name, "notification", (data) => toast(data));
  }

  document.querySelectorAll("[data-presence-channel]").forEach((panel) =>
    presencePanel(rt, panel, {meId: root?.dataset.userId}));
  const table = document.getElementById("submissions");
  if (table) submissionsTable(rt, table);
  document.querySelectorAll(".agent-card").forEach((card) => {
    rt.subscribe(card.dataset.channel);
    agentCard(rt, card);
  });
  const notify = document.getElementById("notify-form");
  if (notify) notifyForm(rt, notify);

  const forms = document.querySelectorAll(".quiz-form");
  if (forms.length) {
    const cards = new Map();
    forms.forEach((form) => {
      const card = resultCard(document.getElementById(`result-card-${form.dataset.quiz}`));
      cards.set(String(form.dataset.quiz), card);
      quizForm(rt, form, card);
    });
    // quiz-result is sent to the student's user channel: sign in to receive it.
    rt.pusher?.signin();
    rt.pusher?.user.bind("quiz-result", (data) => {
      cards.get(String(data.quiz_id))?.show(data, {live: true});
    });
  }
}

start();
