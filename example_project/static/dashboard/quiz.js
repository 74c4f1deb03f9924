// The student's quiz and result card. Submitting goes through rt.fetch; the card
// shows the answer's score at once and is confirmed by the quiz-result event that
// the server sends to the student's own user channel (every tab of theirs gets it).
import {el, postJSON, timeElement} from "./ui.js";

function answersOf(form) {
  return [...form.querySelectorAll("fieldset.question")].map((question) => {
    const checked = question.querySelector("input[type=radio]:checked");
    const text = question.querySelector("input[type=text]");
    return checked ? checked.value : (text ? text.value.trim() : "");
  });
}

export function resultCard(card) {
  const score = card.querySelector("[data-score]");
  const total = card.querySelector("[data-total]");
  const note = card.querySelector("[data-note]");
  return {
    show(data, {live}) {
      score.textContent = String(data.score);
      total.textContent = String(data.total);
      card.dataset.state = "done";
      card.dataset.score = String(data.score);
      card.classList.toggle("is-perfect", data.score >= data.total);
      if (live) {
        card.dataset.live = "true";
        note.replaceChildren(el("span", {class: "live-check", "aria-hidden": "true"}, "✓ "),
          "Delivered live at ", timeElement(Date.now(), false), ".");
      } else if (card.dataset.live !== "true") {
        note.replaceChildren("Submitted at ", timeElement(Date.now(), false), ".");
      }
    },
  };
}

export function quizForm(rt, form, card) {
  const status = form.querySelector("[data-form-status]");
  const button = form.querySelector("button[type=submit]");
  const inputs = form.querySelector("fieldset.questions");
  const lock = (message) => {
    inputs.disabled = true;
    button.disabled = true;
    status.textContent = message;
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.setAttribute("aria-busy", "true");
    button.disabled = true;
    status.textContent = "Sending…";
    const {ok, status: code, body} = await postJSON(rt, form.dataset.submitUrl, {answers: answersOf(form)});
    button.removeAttribute("aria-busy");
    if (ok) {
      card.show(body, {live: false});
      lock(body.attempts_left ? `Submitted. ${body.attempts_left} attempt(s) left.` : "Submitted.");
      if (body.attempts_left) { inputs.disabled = false; button.disabled = false; }
    } else if (code === 409) {
      lock("You have used your attempts at this quiz.");
    } else {
      button.disabled = false;
      status.textContent = body.detail || `The server answered ${code}. Try again.`;
    }
  });
}
