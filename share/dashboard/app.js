/*
 * comqtt dashboard: talks to the admin REST API of the broker that serves
 * it, with the bearer token the user gives (kept in sessionStorage, or
 * localStorage when asked to remember it).  No framework, no external
 * resources; every value from the broker goes into the page as text
 * (textContent), never as markup: client ids and topics are chosen by
 * clients.
 */
"use strict";

const API = "api/v1/mqtt";
const SAMPLE_MS = 2000;
const SAMPLES = 90;
const PAGE = 20;

const state = {
  token: sessionStorage.getItem("comqtt-token") ||
    localStorage.getItem("comqtt-token") || "",
  tab: "overview",
  samples: [], /* {t, received, sent, connected} */
  pages: { clients: 1, subs: 1, topics: 1, retained: 1 },
  detail: null,
};

/* ---- helpers ------------------------------------------------------- */

function $(id) { return document.getElementById(id); }

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function setStatus(text, error) {
  const s = $("status");
  s.textContent = text;
  s.classList.toggle("error", !!error);
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const opts = { method, headers: { "Accept": "application/json" } };
  if (state.token) opts.headers["Authorization"] = "Bearer " + state.token;
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path.startsWith("/") ? path.slice(1) : path, opts);
  } catch (e) {
    throw new ApiError(0, "the broker cannot be reached");
  }
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (res.status === 401) {
    showLogin("The token was refused.");
    throw new ApiError(401, "unauthorized");
  }
  if (!res.ok) {
    throw new ApiError(res.status,
      (data && data.error) || ("HTTP " + res.status));
  }
  return data;
}

function enc(s) { return encodeURIComponent(s); }

function human(n) {
  if (n === undefined || n === null) return "-";
  if (n < 1000) return String(n);
  const u = ["K", "M", "G", "T"];
  let i = -1;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return n.toFixed(n < 10 ? 1 : 0) + u[i];
}

function bytes(n) {
  if (n < 1024) return n + " B";
  const u = ["KiB", "MiB", "GiB", "TiB"];
  let i = -1;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return n.toFixed(1) + " " + u[i];
}

function duration(s) {
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
    m = Math.floor(s % 3600 / 60);
  if (d) return d + "d " + h + "h";
  if (h) return h + "h " + m + "m";
  return m + "m " + (s % 60) + "s";
}

function when(t) {
  return t ? new Date(t * 1000).toLocaleString() : "-";
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    if (c instanceof Node) td.appendChild(c); else td.textContent = c;
    tr.appendChild(td);
  }
  return tr;
}

function fill(tableId, rows) {
  const body = $(tableId).tBodies[0];
  body.replaceChildren(...rows);
}

function button(text, onClick, cls) {
  const b = el("button", text, cls);
  b.type = "button";
  b.addEventListener("click", (ev) => { ev.stopPropagation(); onClick(); });
  return b;
}

function pager(id, key, total, reload) {
  const p = $(id);
  const pages = Math.max(1, Math.ceil(total / PAGE));
  const prev = button("‹", () => { state.pages[key]--; reload(); });
  const next = button("›", () => { state.pages[key]++; reload(); });
  prev.disabled = state.pages[key] <= 1;
  next.disabled = state.pages[key] >= pages;
  p.replaceChildren(prev, el("span", "page " + state.pages[key] + " of " +
    pages + " (" + total + ")"), next);
}

async function guarded(fn) {
  try {
    await fn();
  } catch (e) {
    if (e.status !== 401) setStatus(e.message, true);
  }
}

/* ---- login --------------------------------------------------------- */

function showLogin(message) {
  $("login").classList.remove("hidden");
  $("main").classList.add("hidden");
  $("login-error").textContent = message || "";
}

function hideLogin() {
  $("login").classList.add("hidden");
  $("main").classList.remove("hidden");
}

$("login-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  state.token = $("login-token").value.trim();
  sessionStorage.setItem("comqtt-token", state.token);
  if ($("login-remember").checked) {
    localStorage.setItem("comqtt-token", state.token);
  }
  hideLogin();
  refresh();
});

/* ---- overview ------------------------------------------------------ */

function figure(label, value) {
  const d = el("div", null, "figure");
  d.appendChild(el("div", value, "value"));
  d.appendChild(el("div", label, "label"));
  return d;
}

function drawChart(canvas, series, colors) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, pad = 30;
  ctx.clearRect(0, 0, w, h);
  let max = 4;
  for (const s of series) for (const v of s) max = Math.max(max, v * 1.1);
  /* A multiple of 4 with one or two significant digits: whole labels. */
  const step = Math.pow(10, Math.max(0, Math.floor(Math.log10(max)) - 1));
  max = Math.ceil(max / (4 * step)) * 4 * step;
  ctx.strokeStyle = "#d0d7de";
  ctx.fillStyle = "#656d76";
  ctx.font = "11px sans-serif";
  ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = pad / 2 + (h - pad) * i / 4;
    ctx.beginPath(); ctx.moveTo(pad, y); ctx.lineTo(w, y); ctx.stroke();
    ctx.fillText(human(Math.round(max * (4 - i) / 4)), 2, y + 4);
  }
  series.forEach((s, k) => {
    if (s.length < 2) return;
    ctx.strokeStyle = colors[k];
    ctx.lineWidth = 2;
    ctx.beginPath();
    s.forEach((v, i) => {
      const x = pad + (w - pad) * i / (SAMPLES - 1);
      const y = pad / 2 + (h - pad) * (1 - v / max);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
  });
}

function charts() {
  const s = state.samples, rin = [], rout = [], conn = [];
  for (let i = 1; i < s.length; i++) {
    const dt = (s[i].t - s[i - 1].t) / 1000 || 1;
    rin.push(Math.max(0, (s[i].received - s[i - 1].received) / dt));
    rout.push(Math.max(0, (s[i].sent - s[i - 1].sent) / dt));
  }
  for (const x of s) conn.push(x.connected);
  const css = getComputedStyle(document.documentElement);
  drawChart($("chart-messages"), [rin, rout],
    [css.getPropertyValue("--in"), css.getPropertyValue("--out")]);
  drawChart($("chart-connections"), [conn],
    [css.getPropertyValue("--conn")]);
}

function workers(list) {
  fill("workers-table", list.map((w) => row([w.slot, w.pid || "-",
    w.alive ? "yes" : "no", w.connections, w.subscriptions,
    human(w.messages_received), human(w.messages_sent),
    (w.loop_lag_us / 1000).toFixed(1) + " ms", bytes(w.ring_depth_bytes)])));
}

async function loadOverview() {
  const o = await api("GET", API + "/stat/overall");
  state.samples.push({ t: Date.now(), received: o.messages_received,
    sent: o.messages_sent, connected: o.clients_connected });
  if (state.samples.length > SAMPLES + 1) state.samples.shift();
  $("figures").replaceChildren(
    figure("clients connected", o.clients_connected),
    figure("sessions", o.clients_total),
    figure("most connected", o.clients_maximum),
    figure("subscriptions", o.subscriptions),
    figure("retained", o.retained),
    figure("received", human(o.messages_received)),
    figure("sent", human(o.messages_sent)),
    figure("dropped", human(o.messages_dropped)),
    figure("inflight", o.inflight),
    figure("bytes in", bytes(o.bytes_received)),
    figure("bytes out", bytes(o.bytes_sent)),
    figure("shared memory", bytes(o.memory_alloc)),
    figure("uptime", duration(o.uptime)),
    figure("version", o.version));
  charts();
  if (state.tab === "overview") workers(await api("GET", API + "/stat/workers"));
}

$("reload-button").addEventListener("click", () => guarded(async () => {
  if (!confirm("Reload the broker's configuration?")) return;
  await api("POST", API + "/reload");
  setStatus("reload asked");
}));

/* ---- clients ------------------------------------------------------- */

async function kick(id) {
  await guarded(async () => {
    await api("POST", API + "/clients/" + enc(id) + "/kick");
    setStatus("client " + id + " disconnected");
    await loadClients();
  });
}

async function loadClients() {
  const q = $("clients-q").value, on = $("clients-online").value;
  let path = API + "/clients?page=" + state.pages.clients +
    "&page_size=" + PAGE;
  if (q) path += "&q=" + enc(q);
  if (on) path += "&online=" + on;
  const r = await api("GET", path);
  fill("clients-table", r.items.map((c) => {
    const tr = row([c.client_id, c.online ? "yes" : "no",
      c.worker === null ? "-" : c.worker, c.remote, c.username,
      c.protocol_version, c.subs, c.pending, c.queued,
      c.online ? button("Kick", () => kick(c.client_id), "kick danger")
               : ""]);
    tr.classList.add("clickable");
    tr.dataset.clientId = c.client_id;
    tr.addEventListener("click", () => guarded(() => showClient(c.client_id)));
    return tr;
  }));
  pager("clients-pager", "clients", r.total, () => guarded(loadClients));
  if (state.detail) await showClient(state.detail).catch(() => {});
}

async function unsubscribe(id, filter) {
  await guarded(async () => {
    await api("DELETE", API + "/clients/" + enc(id) + "/subscriptions/" +
      enc(filter));
    await showClient(id);
  });
}

async function showClient(id) {
  const [c, subs] = await Promise.all([
    api("GET", API + "/clients/" + enc(id)),
    api("GET", API + "/clients/" + enc(id) + "/subscriptions")]);
  state.detail = id;
  $("client-detail").classList.remove("hidden");
  $("client-detail-title").textContent = "Client " + c.id;
  const dl = $("client-detail-fields");
  const fields = [["online", c.online ? "yes" : "no"], ["worker", c.worker],
    ["address", c.ip || "-"], ["listener", c.listener || "-"],
    ["username", c.username || "-"], ["protocol", c.protocol_version],
    ["clean", c.session_clean ? "yes" : "no"],
    ["keep alive", c.keepalive + " s"], ["connected", when(c.connected_at)],
    ["inflight", c.inflight_count], ["queued", c.queued],
    ["will topic", c.will_topic_name || "-"],
    ["will payload", c.will_payload || "-"]];
  dl.replaceChildren(...fields.flatMap(([k, v]) =>
    [el("dt", k), el("dd", v === null ? "-" : v)]));
  fill("client-subs-table", subs.map((s) => row([s.topic, s.qos,
    s.no_local ? "yes" : "no", s.retain_as_published ? "yes" : "no",
    s.identifier || "-",
    button("Unsubscribe", () => unsubscribe(id, s.topic), "danger")])));
}

$("clients-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  state.pages.clients = 1;
  guarded(loadClients);
});

/* ---- subscriptions, topics ---------------------------------------- */

async function loadSubs() {
  let path = API + "/subscriptions?page=" + state.pages.subs +
    "&page_size=" + PAGE;
  if ($("subs-client").value) path += "&clientid=" + enc($("subs-client").value);
  if ($("subs-topic").value) path += "&topic=" + enc($("subs-topic").value);
  const r = await api("GET", path);
  fill("subs-table", r.items.map((s) => row([s.client_id, s.topic, s.qos,
    s.no_local ? "yes" : "no", s.retain_as_published ? "yes" : "no",
    s.identifier || "-"])));
  pager("subs-pager", "subs", r.total, () => guarded(loadSubs));
}

$("subs-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  state.pages.subs = 1;
  guarded(loadSubs);
});

async function loadTopics() {
  let path = API + "/topics?format=list&page=" + state.pages.topics +
    "&page_size=" + PAGE;
  if ($("topics-q").value) path += "&topic=" + enc($("topics-q").value);
  const r = await api("GET", path);
  fill("topics-table", r.items.map((t) => row([t.topic, t.subscribers])));
  pager("topics-pager", "topics", r.total, () => guarded(loadTopics));
}

$("topics-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  state.pages.topics = 1;
  guarded(loadTopics);
});

/* ---- retained ------------------------------------------------------ */

async function deleteRetained(topic) {
  await guarded(async () => {
    if (!confirm("Delete the retained message of " + topic + "?")) return;
    await api("DELETE", API + "/retained/" + enc(topic));
    await loadRetained();
  });
}

async function loadRetained() {
  let path = API + "/retained?payload=true&page=" + state.pages.retained +
    "&page_size=" + PAGE;
  if ($("retained-q").value) path += "&topic=" + enc($("retained-q").value);
  const r = await api("GET", path);
  fill("retained-table", r.items.map((m) => row([m.topic, m.qos,
    bytes(m.size), when(m.stored_at),
    (m.payload || "").slice(0, 120) + (m.payload_truncated ? "…" : ""),
    button("Delete", () => deleteRetained(m.topic), "danger")])));
  pager("retained-pager", "retained", r.total, () => guarded(loadRetained));
}

$("retained-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  state.pages.retained = 1;
  guarded(loadRetained);
});

/* ---- blacklist ----------------------------------------------------- */

async function loadBlacklist() {
  const ids = await api("GET", API + "/blacklist");
  fill("blacklist-table", ids.map((id) => row([id,
    button("Remove", () => guarded(async () => {
      await api("DELETE", API + "/blacklist/" + enc(id));
      await loadBlacklist();
    }))])));
}

$("blacklist-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  guarded(async () => {
    const id = $("blacklist-id").value;
    const r = await api("POST", API + "/blacklist/" + enc(id));
    setStatus(id + " blacklisted" + (r.kicked ? " and disconnected" : ""));
    $("blacklist-id").value = "";
    await loadBlacklist();
  });
});

/* ---- publish, config ----------------------------------------------- */

$("publish-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  guarded(async () => {
    const m = await api("POST", API + "/message", {
      topic_name: $("publish-topic").value,
      payload: $("publish-payload").value,
      qos: Number($("publish-qos").value),
      retain: $("publish-retain").checked,
    });
    $("publish-result").textContent = "Published to " + m.topic_name +
      " (QoS " + m.qos + (m.retain ? ", retained" : "") + ")";
  });
});

async function loadConfig() {
  const c = await api("GET", API + "/config");
  $("config-text").textContent = JSON.stringify(c, null, 2);
}

/* ---- tabs and the refresh loop -------------------------------------- */

const loaders = {
  overview: loadOverview, clients: loadClients, subscriptions: loadSubs,
  topics: loadTopics, retained: loadRetained, blacklist: loadBlacklist,
  publish: async () => {}, config: loadConfig,
};

function showTab(name) {
  state.tab = name;
  for (const b of document.querySelectorAll("#tabs button")) {
    b.classList.toggle("active", b.dataset.tab === name);
  }
  for (const s of document.querySelectorAll("section.tab")) {
    s.classList.toggle("hidden", s.id !== "tab-" + name);
  }
  guarded(loaders[name]);
}

for (const b of document.querySelectorAll("#tabs button")) {
  b.addEventListener("click", () => showTab(b.dataset.tab));
}

async function refresh() {
  try {
    if (state.tab !== "overview") await loadOverview();
    await loaders[state.tab]();
    setStatus("updated " + new Date().toLocaleTimeString());
  } catch (e) {
    if (e.status !== 401) setStatus(e.message, true);
  }
}

/* Live figures every SAMPLE_MS; the open tab's table with them, except
 * forms the user is typing into. */
setInterval(() => {
  if ($("login").classList.contains("hidden") &&
      !["publish", "blacklist", "config"].includes(state.tab)) refresh();
  else if ($("login").classList.contains("hidden")) guarded(loadOverview);
}, SAMPLE_MS);

refresh();
