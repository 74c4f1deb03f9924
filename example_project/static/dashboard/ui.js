// Small DOM helpers shared by the dashboard's panels: elements, initials avatars,
// times, toasts, and a JSON POST that goes through rt.fetch (X-Socket-ID + CSRF).

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

export function initials(name) {
  const words = String(name || "?").trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[words.length - 1][0] : (words[0] || "?").slice(0, 2);
  return letters.toUpperCase();
}

// A stable hue per name, so a person keeps their colour across pages.
export function hueOf(name) {
  let hash = 0;
  for (const ch of String(name)) hash = (hash * 31 + ch.codePointAt(0)) % 360;
  return hash;
}

export function fillAvatar(node, name) {
  node.textContent = initials(name);
  node.style.setProperty("--avatar-hue", hueOf(name));
}

export function avatar(name, extraClass = "") {
  const node = el("span", {class: `avatar ${extraClass}`.trim(), "aria-hidden": "true"});
  fillAvatar(node, name);
  return node;
}

export function fillAvatars(root = document) {
  root.querySelectorAll("[data-initials]").forEach((node) => fillAvatar(node, node.dataset.initials));
}

export function clockTime(value, withSeconds = true) {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return "";
  const options = {hour: "2-digit", minute: "2-digit"};
  if (withSeconds) options.second = "2-digit";
  return date.toLocaleTimeString([], options);
}

export function timeElement(value, withSeconds = true) {
  const date = new Date(value || Date.now());
  return el("time", {datetime: date.toISOString()}, clockTime(date, withSeconds));
}

// Server-rendered <time> elements show UTC; show them in the viewer's time zone.
export function localizeTimes(root = document) {
  root.querySelectorAll("time[datetime]").forEach((node) => {
    const text = clockTime(node.getAttribute("datetime"), node.textContent.split(":").length > 2);
    if (text) node.textContent = text;
  });
}

const TOAST_MS = 6000;

export function toast({title = "", message = "", level = "info"}) {
  const box = document.getElementById("toasts");
  if (!box) return null;
  const close = el("button", {type: "button", class: "toast-close", "aria-label": "Dismiss"}, "×");
  const node = el("div", {class: `toast toast-${level}`, role: "status"},
    el("div", {class: "toast-body"}, title ? el("strong", {}, title) : null, el("span", {}, message)),
    close);
  const remove = () => node.remove();
  close.addEventListener("click", remove);
  box.prepend(node);
  while (box.children.length > 4) box.lastElementChild.remove();
  setTimeout(remove, TOAST_MS);
  return node;
}

// POST JSON through the realtime helper: it adds X-Socket-ID (the server then skips
// this tab's own echo) and the CSRF header. Resolves to {ok, status, body}.
export async function postJSON(rt, url, payload) {
  const init = {
    method: "POST",
    headers: {"Content-Type": "application/json", "Accept": "application/json"},
    body: JSON.stringify(payload),
  };
  let response;
  try {
    response = await rt.fetch(url, init);
  } catch (error) {
    return {ok: false, status: 0, body: {detail: "The server cannot be reached. Try again."}};
  }
  const body = await response.json().catch(() => ({}));
  return {ok: response.ok, status: response.status, body};
}

// What the panels need of rt when live updates are off (TOOLBOX_REALTIME ENABLED
// False): requests still carry the CSRF header; nothing is subscribed.
export function requestsOnly(config) {
  return {
    pusher: null,
    subscribe: () => null,
    bind: () => () => {},
    fetch(url, init = {}) {
      const headers = new Headers(init.headers);
      if (config.csrf?.token) headers.set(config.csrf.headerName, config.csrf.token);
      return fetch(url, {credentials: "same-origin", ...init, headers});
    },
  };
}
