// The teachers' live table of quiz submissions, newest first: rows arrive as
// quiz-submitted events on private-teacher (the model bridge sends them when an
// attempt is stored). Rows are keyed by quiz, student and attempt number, so a
// row already rendered by the page (or caught up twice) is never shown twice.
import {avatar, el, timeElement, toast} from "./ui.js";

export function scoreClass(score, total) {
  if (!total) return "score-none";
  if (score >= total) return "score-full";
  return score > 0 ? "score-part" : "score-zero";
}

export function decorateScores(root = document) {
  root.querySelectorAll(".score-pill[data-score]").forEach((pill) => {
    pill.classList.add(scoreClass(Number(pill.dataset.score), Number(pill.dataset.total)));
  });
}

export function submissionsTable(rt, table) {
  const body = table.tBodies[0];
  const empty = body.querySelector("tr.empty");
  decorateScores(table);
  rt.subscribe(table.dataset.channel); // also a notice channel: the same subscription
  rt.bind(table.dataset.channel, "quiz-submitted", (data) => {
    const key = `${data.quiz_id}:${data.student}:${data.attempt}`;
    if ([...body.rows].some((row) => row.dataset.key === key)) return;
    const pill = el("span", {class: `score-pill ${scoreClass(data.score, data.total)}`,
      dataset: {score: data.score, total: data.total}}, `${data.score} / ${data.total}`);
    const row = el("tr", {class: "is-new", dataset: {key}},
      el("td", {}, avatar(data.student, "small"), " ", data.student),
      el("td", {class: "col-quiz"}, data.quiz),
      el("td", {}, pill),
      el("td", {}, timeElement(data.submitted_at)));
    body.prepend(row);
    if (empty) empty.hidden = true;
    setTimeout(() => row.classList.remove("is-new"), 2500);
    toast({title: "Quiz submitted", message: `${data.student}: ${data.score} / ${data.total} on ${data.quiz}`});
  });
}
