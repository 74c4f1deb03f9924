// A classroom's presence panel: who is online (initials avatars, count), and a
// toast when someone joins or leaves. Members come from the presence channel.
import {avatar, el, toast} from "./ui.js";

function memberItem(id, info = {}) {
  const name = info.name || `User ${id}`;
  const capacity = info.classroom_role || info.role || "";
  return el("li", {class: "member", dataset: {member: id, name}},
    avatar(name),
    el("span", {class: "member-name"}, name),
    capacity ? el("span", {class: `capacity capacity-${capacity}`}, capacity) : null);
}

export function presencePanel(rt, panel, {meId}) {
  const channelName = panel.dataset.presenceChannel;
  const list = panel.querySelector("[data-members]");
  const count = panel.querySelector("[data-count]");
  const classroom = panel.dataset.classroom;
  const members = new Map();

  const render = () => {
    const sorted = [...members.entries()].sort(([, a], [, b]) =>
      String(a.name || "").localeCompare(String(b.name || "")));
    list.replaceChildren(...sorted.map(([id, info]) => {
      const item = memberItem(id, info);
      if (String(id) === String(meId)) item.classList.add("is-me");
      return item;
    }));
    if (!members.size) list.append(el("li", {class: "empty muted"}, "Nobody online"));
    count.textContent = String(members.size);
    panel.dataset.count = String(members.size);
  };

  const channel = rt.subscribe(channelName);
  if (!channel) {
    list.replaceChildren(el("li", {class: "empty muted"}, "Live updates are off."));
    return;
  }
  channel.bind("pusher:subscription_succeeded", (snapshot) => {
    members.clear();
    snapshot.each((member) => members.set(String(member.id), member.info || {}));
    panel.dataset.subscribed = "true";
    render();
  });
  channel.bind("pusher:subscription_error", () => {
    panel.dataset.subscribed = "refused";
    list.replaceChildren(el("li", {class: "empty muted"}, "You may not see this classroom."));
  });
  channel.bind("pusher:member_added", (member) => {
    members.set(String(member.id), member.info || {});
    render();
    toast({title: classroom, message: `${member.info?.name || "Someone"} joined`, level: "success"});
  });
  channel.bind("pusher:member_removed", (member) => {
    const info = members.get(String(member.id)) || member.info || {};
    members.delete(String(member.id));
    render();
    toast({title: classroom, message: `${info.name || "Someone"} left`, level: "info"});
  });
}
