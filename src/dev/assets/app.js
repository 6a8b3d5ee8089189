// qc-harness dev: the page. Plain JavaScript, no build step; it uses only the JSON API
// under /api and the Server-Sent Events at /api/events (see docs/dev.md).
"use strict";

const PAGE_SIZE = 50;
const SHOWN_WEBHOOKS = 50;
const SHOWN_UPLOADS = 30;
const $ = (id) => document.getElementById(id);
const view = { offset: 0, q: "", outcome: "all", selected: "", open: new Set() };

async function api(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch("/api" + path, options);
  const data = await response.json().catch(() => ({ error: "HTTP " + response.status }));
  if (!response.ok) throw new Error(data.error || "HTTP " + response.status);
  return data;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function toast(message) {
  const box = $("toast");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (box.hidden = true), 6000);
}

// Runs an action from a button: disables it meanwhile, shows the error next to it.
async function act(button, errorBox, action) {
  button.disabled = true;
  if (errorBox) errorBox.textContent = "";
  try {
    return await action();
  } catch (error) {
    if (errorBox) errorBox.textContent = error.message;
    else toast(error.message);
  } finally {
    button.disabled = false;
  }
}

// Runs fn at most once per `ms`, after the first call of a burst: a steady stream of events
// still refreshes the page every `ms` (a debounce would wait for the stream to stop).
// A call while fn's promise is pending runs it once more afterwards (never two at a time).
function throttle(fn, ms) {
  let timer = null, running = false, again = false;
  const run = async () => {
    timer = null;
    if (running) { again = true; return; }
    running = true;
    try { await fn(); } finally { running = false; }
    if (again) { again = false; schedule(); }
  };
  const schedule = () => { if (timer === null) timer = setTimeout(run, ms); };
  return schedule;
}

function debounce(fn, ms) {
  let timer;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

// ---- state, relay, variants ----

function showState(state) {
  $("clevertap-url").textContent = "CleverTap: " + state.clevertap.upload_url + " (" + state.clevertap.account_id + ")";
  showVariant(state.variant);
  const select = $("variant-select");
  if (!select.options.length) { // built once: a refresh must not undo what the user is picking
    select.replaceChildren(...state.variants.map((v) => el("option", { value: v.name, selected: v.name === state.variant }, v.name + (v.origin === "built-in" ? "" : " (" + v.origin + ")"))));
  }
  showRelay(state.relay);
  showFaults(state.faults);
  showCounts(state.counts);
}

function showCounts(c) {
  $("counts").textContent = c.webhooks + " webhooks · " + c.uploads + " uploads · " + c.records + " records";
}

function showVariant(name) {
  $("variant-current").textContent = "variant: " + name;
  $("variant-current").dataset.variant = name;
}

function showRelay(relay) {
  const pill = $("relay-state");
  pill.textContent = "relay: " + relay.state + (relay.starts > 1 ? " (start " + relay.starts + ")" : "");
  pill.className = "pill " + (relay.state === "running" || relay.state === "attached" ? "ok" : "bad");
  pill.title = (relay.webhook_url || "") + (relay.problem ? " — " + relay.problem : "");
  $("variant-select").disabled = !relay.can_switch;
  const none = relay.mode === "url" ? "(a relay at --relay-url: its output is where you started it)" : "(no output yet)";
  $("relay-output").textContent = relay.output || none;
}

async function refreshState() {
  showState(await api("GET", "/state"));
}

// ---- fixtures and journeys ----

async function searchFixtures() {
  const found = await api("GET", "/fixtures?q=" + encodeURIComponent($("fixture-search").value));
  $("fixture-list").replaceChildren(...found.fixtures.map((f) => el("li", {},
    el("button", { class: "fixture-item" + (f.name === view.selected ? " selected" : ""), "data-name": f.name, title: f.event_name, onclick: () => pickFixture(f.name) }, f.name))));
  if (!$("journey-select").options.length) {
    $("journey-select").replaceChildren(...found.journeys.map((j) => el("option", { value: j.name, title: j.events.join(" → ") }, j.name + " (" + j.events.length + " events)")));
  }
}

function pickFixture(name) {
  view.selected = name;
  $("fixture-name").value = name;
  for (const item of document.querySelectorAll(".fixture-item")) item.classList.toggle("selected", item.dataset.name === name);
}

function sendFixture() {
  return act($("send-button"), $("send-error"), async () => {
    const set = $("overrides").value.split("\n").map((s) => s.trim()).filter(Boolean);
    await api("POST", "/send", { fixture: $("fixture-name").value.trim(), set, retry: $("retry").checked });
  });
}

function sendJourney() {
  return act($("journey-button"), $("journey-error"), () => api("POST", "/journey", { journey: $("journey-select").value, retry: $("retry").checked }));
}

// ---- webhooks ----

function answerText(webhook) {
  const last = webhook.attempts[webhook.attempts.length - 1];
  if (!last) return "not sent";
  const what = last.status ? "HTTP " + last.status : "no answer: " + (last.error || "");
  const tries = webhook.attempts.length > 1 ? " after " + webhook.attempts.length + " attempts" : "";
  return what + tries + (last.answer ? " " + last.answer : "");
}

function webhookRow(w) {
  const reference = w.not_forwarded ? "not forwarded: " + w.not_forwarded : w.expected.length + " record expected";
  return el("tr", { class: "webhook-row", "data-id": w.id },
    el("td", {}, w.id),
    el("td", {}, w.event_name),
    el("td", {}, w.source, w.overrides.length ? el("div", { class: "muted" }, "--set " + w.overrides.join(" --set ")) : null, el("div", { class: "muted" }, "variant " + w.variant)),
    el("td", { class: w.delivered ? "status-ok" : "status-bad" }, answerText(w)),
    el("td", {}, reference));
}

function addWebhook(w) {
  const body = $("webhooks").tBodies[0];
  body.prepend(webhookRow(w));
  while (body.rows.length > SHOWN_WEBHOOKS) body.lastElementChild.remove();
}

async function refreshWebhooks() {
  const page = await api("GET", "/webhooks?limit=" + SHOWN_WEBHOOKS);
  $("webhooks").tBodies[0].replaceChildren(...page.items.map(webhookRow));
}

// ---- uploads ----

function uploadRow(u) {
  const note = [u.explained, u.retry_of ? "retry of request #" + u.retry_of : null,
    u.duplicate_of ? "same records as request #" + u.duplicate_of + ", which was accepted: a duplicate upload" : null].filter(Boolean).join("; ");
  return el("tr", { class: "upload-row", "data-seq": u.seq, "data-status": u.status },
    el("td", {}, "#" + u.seq),
    el("td", { class: u.status === 200 ? "status-ok" : "status-bad" }, u.status === 0 ? "dropped" : "HTTP " + u.status),
    el("td", {}, u.processed + " of " + u.records + " processed"),
    el("td", {}, u.fault || ""),
    el("td", { class: "note" }, note));
}

async function refreshUploads() {
  const page = await api("GET", "/uploads?limit=" + SHOWN_UPLOADS);
  $("uploads").tBodies[0].replaceChildren(...page.items.map(uploadRow));
  $("uploads-total").textContent = page.total + " in the journal";
}

// ---- records (paged: only one page is ever in the DOM) ----

function recordCard(r) {
  let verdict;
  if (r.matches) verdict = el("div", { class: "verdict match" }, "matches the reference (webhook #" + r.webhook_id + ")");
  else if (r.expected) verdict = el("div", { class: "verdict differs" }, r.differences.length + " difference(s) from the reference (webhook #" + r.webhook_id + ")");
  else verdict = el("div", { class: "verdict differs" }, "no webhook sent from this page expects this record");
  const json = (v) => el("pre", {}, JSON.stringify(v, null, 2));
  const key = r.request_seq + "#" + r.index; // details the user opened stay open across refreshes
  return el("article", { class: "record " + r.outcome, "data-seq": r.request_seq, "data-index": r.index, "data-outcome": r.outcome },
    el("div", { class: "record-head" },
      el("span", {}, "request #" + r.request_seq + " record #" + r.index),
      el("strong", {}, r.evt_name || "(no evtName)"),
      el("span", {}, "identity " + (r.identity || "(none)")),
      el("span", { class: "outcome" }, r.explained),
      r.fault ? el("span", { class: "muted" }, "fault: " + r.fault) : null),
    r.error ? el("div", { class: "muted" }, "CleverTap: " + r.error) : null,
    verdict,
    r.differences.length ? el("ul", { class: "differences" }, r.differences.map((d) => el("li", {}, d))) : null,
    el("details", { open: view.open.has(key), ontoggle: (e) => (e.target.open ? view.open.add(key) : view.open.delete(key)) },
      el("summary", {}, "record" + (r.expected ? " and reference" : "")),
      el("div", { class: "columns" }, el("div", {}, "received", json(r.record)), r.expected ? el("div", {}, "reference", json(r.expected)) : null)));
}

async function refreshRecords() {
  const params = new URLSearchParams({ offset: view.offset, limit: PAGE_SIZE, q: view.q, outcome: view.outcome });
  const page = await api("GET", "/records?" + params);
  if (page.total && view.offset >= page.total) {
    view.offset = Math.max(0, Math.floor((page.total - 1) / PAGE_SIZE) * PAGE_SIZE);
    return refreshRecords();
  }
  $("records").replaceChildren(...page.items.map(recordCard));
  const pages = Math.max(1, Math.ceil(page.total / PAGE_SIZE));
  $("records-page").textContent = "page " + (Math.floor(view.offset / PAGE_SIZE) + 1) + " of " + pages;
  $("records-total").textContent = page.total + " records";
  $("records-total").dataset.total = page.total;
  $("records-newer").disabled = view.offset === 0;
  $("records-older").disabled = view.offset + PAGE_SIZE >= page.total;
}

function movePage(step) {
  view.offset = Math.max(0, view.offset + step * PAGE_SIZE);
  refreshRecords().catch((e) => toast(e.message));
}

// ---- faults and journal ----

function showFaults(rules) {
  $("fault-list").replaceChildren(...rules.map((rule) => el("li", { class: "fault" + (rule.used_up ? " used-up" : ""), "data-id": rule.id, "data-spec": rule.spec },
    rule.description + " — " + (rule.to === rule.from ? "request " + rule.from : "requests " + rule.from + (rule.to === null ? " on" : " to " + rule.to)) + (rule.used_up ? " (used up)" : ""),
    el("button", { class: "fault-remove secondary", title: "remove", onclick: (e) => act(e.target, $("fault-error"), () => api("DELETE", "/faults/" + rule.id)) }, "✕"))));
}

function faultKindChanged() {
  const kind = $("fault-kind").value;
  $("fault-arg-label").hidden = !kind.endsWith(":");
  $("chaos-fields").hidden = kind !== "chaos";
}

function addFault() {
  return act($("fault-add"), $("fault-error"), () => {
    const kind = $("fault-kind").value;
    const count = Number($("fault-count").value.trim() || "0");
    const request = { fault: kind.endsWith(":") ? kind + $("fault-arg").value.trim() : kind, count };
    if (!Number.isInteger(count) || count < 0) throw new Error("N must be a whole number, 0 or more");
    if (kind === "chaos") {
      request.seed = Number($("fault-seed").value);
      request.rate = Number($("fault-rate").value);
      if (!Number.isInteger(request.seed) || request.seed < 0) throw new Error("the seed must be a whole number");
    }
    return api("POST", "/faults", request);
  });
}

function clearJournal() {
  return act($("journal-clear"), null, () => api("DELETE", "/journal"));
}

// ---- live updates ----

const refreshLists = throttle(() =>
  Promise.all([refreshUploads(), refreshRecords(), refreshState()]).catch((e) => toast(e.message)), 250);

function connect() {
  const events = new EventSource("/api/events");
  events.onopen = () => { $("live").textContent = "live"; $("live").className = "pill ok"; };
  events.onerror = () => { $("live").textContent = "live: reconnecting"; $("live").className = "pill bad"; };
  const on = (name, handler) => events.addEventListener(name, (e) => handler(JSON.parse(e.data)));
  on("webhook", (w) => { addWebhook(w); refreshLists(); });
  on("upload", () => refreshLists());
  on("relay", showRelay);
  on("faults", showFaults);
  on("variant", (name) => { showVariant(name); $("variant-select").value = name; });
  on("cleared", () => { view.offset = 0; view.open.clear(); refreshAll(); });
  on("resync", () => refreshAll());
}

function refreshAll() {
  return Promise.all([refreshState(), refreshWebhooks(), refreshUploads(), refreshRecords()]);
}

function wire() {
  $("fixture-search").addEventListener("input", debounce(() => searchFixtures().catch((e) => toast(e.message)), 150));
  $("send-button").addEventListener("click", sendFixture);
  $("journey-button").addEventListener("click", sendJourney);
  $("variant-button").addEventListener("click", (e) => act(e.target, $("variant-error"), () => api("POST", "/variant", { name: $("variant-select").value })));
  $("restart-button").addEventListener("click", (e) => act(e.target, $("variant-error"), () => api("POST", "/relay/restart")));
  $("fault-kind").addEventListener("change", faultKindChanged);
  $("fault-add").addEventListener("click", addFault);
  $("fault-clear").addEventListener("click", (e) => act(e.target, $("fault-error"), () => api("DELETE", "/faults")));
  $("journal-clear").addEventListener("click", clearJournal);
  $("records-newer").addEventListener("click", () => movePage(-1));
  $("records-older").addEventListener("click", () => movePage(1));
  $("record-filter").addEventListener("input", debounce(() => { view.q = $("record-filter").value; view.offset = 0; refreshRecords().catch((e) => toast(e.message)); }, 200));
  $("outcome-filter").addEventListener("change", () => { view.outcome = $("outcome-filter").value; view.offset = 0; refreshRecords().catch((e) => toast(e.message)); });
}

async function main() {
  wire();
  faultKindChanged();
  connect();
  await Promise.all([refreshAll(), searchFixtures()]);
  document.body.dataset.ready = "1";
}

main().catch((e) => toast("the page could not load: " + e.message));
