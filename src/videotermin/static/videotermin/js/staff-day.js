// The staff day view, live: rows follow the appointments' states pushed over /ws/staff/.
// Every value from the server is set as text; nothing is parsed as HTML.

/** @typedef {{name: string, presence: string|null, waitingSince: string|null, check: string,
 *   browser: string, os: string, camera: boolean, microphone: boolean, network?: string}} Citizen */
/** @typedef {{name: string, role: string, roleLabel: string, presence: string}} Extra */
/** @typedef {{id: string, status: string, statusLabel: string, startsAt: string,
 *   citizen: Citizen, extras: Extra[]}} Summary */

const gettext = (/** @type {string} */ s) =>
  typeof globalThis.gettext === "function" ? globalThis.gettext(s) : s;
const interpolate = (/** @type {string} */ fmt, /** @type {object} */ values) =>
  typeof globalThis.interpolate === "function"
    ? globalThis.interpolate(fmt, values, true)
    : fmt.replace(/%\((\w+)\)s/g, (_, key) => String(values[key] ?? ""));

const CHECK_LABELS = {
  green: gettext("ready"),
  yellow: gettext("usable with limits"),
  red: gettext("not ready"),
};
const CLOSED = new Set(["cancelled", "done"]);
const PLACEHOLDER = "00000000-0000-0000-0000-000000000000";

const table = document.getElementById("day-table");
const announcer = document.getElementById("live-announcer");
const liveState = document.getElementById("live-state");

/** @param {string} text */
function announce(text) {
  if (!announcer) return;
  // Clearing first makes screen readers repeat an identical message.
  announcer.textContent = "";
  window.setTimeout(() => { announcer.textContent = text; }, 50);
}

/** @param {string} iso */
function clock(iso) {
  const when = new Date(iso);
  // The agency's zone, like every other time on the page, not the browser's.
  const timeZone = table?.getAttribute("data-time-zone") || undefined;
  return when.toLocaleTimeString(document.documentElement.lang || undefined,
    { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone });
}

/** @param {string} id */
function rowsFor(id) {
  return Array.from(document.querySelectorAll("tr[data-appointment]"))
    .filter((row) => row.getAttribute("data-appointment") === id);
}

/** @param {Element} row @param {string} field */
function cell(row, field) {
  return row.querySelector(`[data-field="${field}"]`);
}

/** @param {Element} row @param {Summary} summary */
function updateRow(row, summary) {
  const citizen = summary.citizen;
  row.setAttribute("data-status", summary.status);
  const name = cell(row, "name");
  if (name) name.textContent = citizen.name;
  const extras = cell(row, "extras");
  if (extras) {
    extras.replaceChildren();
    for (const extra of summary.extras || []) {
      const state = extra.presence === "withdrawn" ? `, ${gettext("consent withdrawn")}`
        : extra.presence === "waiting" ? `, ${gettext("waiting")}` : "";
      extras.append(el("br"), el("span", `+ ${extra.name} (${extra.roleLabel})${state}`, { class: "muted" }));
    }
  }
  const label = cell(row, "status-label");
  if (label) label.textContent = summary.statusLabel;
  const since = cell(row, "waiting-since");
  if (since) {
    since.textContent = summary.status === "waiting" && citizen.waitingSince
      ? " " + interpolate(gettext("since %(time)s"), { time: clock(citizen.waitingSince) })
      : "";
  }
  updateDevice(row, citizen);
  const actions = row.querySelector(".row-actions");
  if (actions && CLOSED.has(summary.status)) {
    actions.replaceChildren();
    return;
  }
  const room = cell(row, "room-link");
  if (room) {
    const waiting = summary.status === "waiting";
    room.classList.toggle("secondary", !waiting);
    const text = room.firstChild;
    const caption = waiting ? gettext("Admit") : gettext("Open room");
    if (text && text.nodeType === Node.TEXT_NODE) text.textContent = caption;
    else room.prepend(document.createTextNode(caption));
  }
}

/** @param {Element} row @param {Citizen} citizen */
function updateDevice(row, citizen) {
  const light = row.querySelector(".light");
  if (light) {
    light.className = "light";
    if (citizen.check in CHECK_LABELS) light.classList.add(citizen.check);
  }
  const label = cell(row, "check-label");
  if (label) label.textContent = CHECK_LABELS[citizen.check] || gettext("not checked yet");
  const details = cell(row, "device-details");
  if (details) {
    details.replaceChildren();
    const parts = [citizen.browser, citizen.os, citizen.network].filter(Boolean);
    if (citizen.presence === "waiting" || citizen.presence === "in_call") {
      parts.push(citizen.camera ? gettext("camera on") : gettext("camera off"));
      parts.push(citizen.microphone ? gettext("microphone on") : gettext("microphone off"));
    }
    if (parts.length) {
      details.append(document.createElement("br"), document.createTextNode(parts.join(", ")));
    }
  }
}

/** @param {string} tag @param {string} [text] @param {Record<string,string>} [attrs] */
function el(tag, text, attrs) {
  const node = document.createElement(tag);
  if (text) node.textContent = text;
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  return node;
}

/** A row for an appointment booked after the page loaded (by a colleague, the API ...). */
function buildRow(/** @type {Summary} */ summary) {
  const row = el("tr", "", { "data-appointment": summary.id, "data-starts-at": summary.startsAt });
  const time = el("td");
  time.append(el("time", clock(summary.startsAt), { datetime: summary.startsAt }));
  const who = el("td");
  who.append(el("span", "", { "data-field": "name" }), el("span", "", { "data-field": "extras" }));
  const status = el("td", "", { "data-field": "status" });
  status.append(el("span", "", { "data-field": "status-label" }),
    el("span", "", { "data-field": "waiting-since", class: "muted" }));
  const device = el("td", "", { "data-field": "device" });
  device.append(el("span", "", { class: "light", "aria-hidden": "true" }),
    el("span", "", { "data-field": "check-label" }),
    el("span", "", { "data-field": "device-details", class: "muted" }));
  const actions = el("td");
  const box = el("div", "", { class: "row-actions" });
  const roomUrl = table?.getAttribute("data-room-url");
  const editUrl = table?.getAttribute("data-edit-url");
  if (roomUrl) {
    box.append(el("a", gettext("Open room"),
      { class: "button secondary", "data-field": "room-link", href: roomUrl.replace(PLACEHOLDER, summary.id) }));
  }
  if (editUrl) {
    box.append(el("a", gettext("Edit"),
      { class: "button secondary", href: editUrl.replace(PLACEHOLDER, summary.id) }));
  }
  actions.append(box);
  row.append(time, who, status, device, actions);
  return row;
}

/** @param {Summary} summary */
function insertRow(summary) {
  const body = table?.querySelector("tbody");
  if (!table || !body) return;
  // Only appointments of the day shown belong in this table.
  if (summary.startsAt.slice(0, 10) !== table.getAttribute("data-day")) return;
  body.querySelector("tr.empty")?.remove();
  const row = buildRow(summary);
  const start = new Date(summary.startsAt).getTime();
  const later = Array.from(body.querySelectorAll("tr[data-starts-at]"))
    .find((other) => new Date(other.getAttribute("data-starts-at") || "").getTime() > start);
  body.insertBefore(row, later || null);
  updateRow(row, summary);
}

/** @param {Summary} summary */
function gotAppointment(summary) {
  const rows = rowsFor(summary.id);
  const wasWaiting = rows.some((row) => row.getAttribute("data-status") === "waiting");
  if (rows.length === 0) insertRow(summary);
  for (const row of rows) updateRow(row, summary);
  if (summary.status === "waiting" && !wasWaiting) {
    const waiting = [summary.citizen, ...(summary.extras || [])].find((m) => m.presence === "waiting");
    announce(interpolate(gettext("%(name)s is waiting"), { name: (waiting || summary.citizen).name }));
  }
}

/** @param {boolean} connected */
function showConnection(connected) {
  if (!liveState) return;
  liveState.textContent = liveState.getAttribute(connected ? "data-connected" : "data-disconnected") || "";
}

const MIN_DELAY = 1000;
const MAX_DELAY = 30000;
const PING_EVERY = 25000;

function connect(delay = MIN_DELAY) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}/ws/staff/`);
  /** @type {number|undefined} */
  let pinger;
  let opened = false;
  socket.addEventListener("open", () => {
    opened = true;
    showConnection(true);
    pinger = window.setInterval(() => socket.send(JSON.stringify({ type: "ping", v: 1 })), PING_EVERY);
  });
  socket.addEventListener("message", (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message && message.type === "appointment" && message.appointment) {
      gotAppointment(message.appointment);
    }
  });
  socket.addEventListener("close", (event) => {
    window.clearInterval(pinger);
    showConnection(false);
    if (event.code === 4403) return; // signed out: reconnecting cannot help
    const next = opened ? MIN_DELAY : Math.min(delay * 2, MAX_DELAY);
    // Jitter spreads the reconnects of many counselors after a server restart.
    window.setTimeout(() => connect(next), next / 2 + Math.random() * next / 2);
  });
}

if (table) connect();
