// The admins' "send a test notification" form. Everyone else gets it as a toast
// on public-notifications; this tab is skipped by the server (X-Socket-ID), so it
// shows the answer as its own toast.
import {postJSON, toast} from "./ui.js";

export function notifyForm(rt, form) {
  const status = form.querySelector("[data-form-status]");
  const button = form.querySelector("button[type=submit]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const fields = new FormData(form);
    button.setAttribute("aria-busy", "true");
    const {ok, body} = await postJSON(rt, form.dataset.url, {
      title: fields.get("title") || "",
      message: fields.get("message") || "",
      level: fields.get("level") || "info",
    });
    button.removeAttribute("aria-busy");
    if (ok) {
      form.reset();
      status.textContent = "Sent to everyone.";
      toast({title: body.title || "Notification sent", message: body.message, level: body.level});
    } else {
      status.textContent = body.detail || "Not sent.";
    }
  });
}
