// synchub operations dashboard: one page on the sync API (/api/*), served
// by `synchub dashboard`, which signs each call; this page holds no
// credentials. Hand-written, no build step, no dependencies.
//
// A refresh makes a fixed number of requests, whatever the history:
// health, one page of tenants, recent failures (a few per tenant and class)
// and the gate. Every action asks first and shows the correlation id of
// the answer.
"use strict";

const DATA_TYPES = ["orders", "catalog", "categories", "locations", "inventory"];
const FLAGS = ["ENABLE_POS_SYNC", "ENABLE_CRM_SYNC", "ENABLE_UPDATE_SYNC"];
const TARGETS = ["pos", "crm", "storefront"];
const TENANTS_PAGE = 100;
const FAILURES_PER_GROUP = 5;
const WATCH_EVERY_MS = 2000;
const WATCH_FOR_MS = 15 * 60 * 1000;

const state = {
  tenants: [],
  tenantsCursor: null,
  tenantsNext: null,
  refreshing: false,
  timer: null,
  sort: {},
  replayAsked: null,
};

// ------------------------------------------------------------------ helpers

const $ = (id) => document.getElementById(id);

/** An element with attributes and children (strings become text, never HTML). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

/** A time in the operator's zone, UTC on hover. */
function timeEl(iso) {
  if (!iso) return el("span", { class: "muted" }, "—");
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return el("span", {}, iso);
  return el("time", { datetime: d.toISOString(), title: "UTC " + d.toISOString() }, timeFormat.format(d));
}

function duration(ms) {
  if (ms === undefined || ms === null) return "—";
  if (ms < 1000) return ms + " ms";
  const s = ms / 1000;
  if (s < 120) return s.toFixed(1) + " s";
  return Math.round(s / 60) + " min";
}

/** A table cell; `sort` is what the column sorts by (defaults to the text). */
function td(content, sort, attrs) {
  const cell = el("td", attrs, content);
  if (sort !== undefined && sort !== null) cell.dataset.sort = String(sort);
  return cell;
}

function timeTd(iso) {
  return td(timeEl(iso), iso ? new Date(iso).getTime() : 0);
}

function badge(text, kind) {
  return el("span", { class: "badge " + (kind || text) }, text);
}

function code(text) {
  return el("code", {}, text || "—");
}

function tenantPath(tenant, rest) {
  return "/api/tenants/" + encodeURIComponent(tenant) + "/" + rest;
}

class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || "HTTP " + status);
    this.status = status;
    this.body = body || {};
    this.errorClass = e.class || "UNKNOWN_ERROR";
    this.field = e.field;
    this.correlationId = this.body.correlationId;
  }
}

/** One call to the sync API through the dashboard server. */
async function api(method, path, body) {
  // The server refuses a change without this header: a page on another
  // site cannot add it without a preflight the server never grants.
  const init = { method, headers: { accept: "application/json", "x-synchub-dashboard": "1" } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, { error: { class: "NETWORK_ERROR", message: "the dashboard server did not answer: " + e.message } });
  }
  let json = {};
  try {
    json = await response.json();
  } catch (e) {
    json = { error: { class: "UNKNOWN_ERROR", message: "not JSON (HTTP " + response.status + ")" } };
  }
  if (!response.ok) throw new ApiError(response.status, json);
  return { status: response.status, body: json };
}

function errorText(e) {
  if (!(e instanceof ApiError)) return String(e);
  let text = e.errorClass + ": " + e.message;
  if (e.correlationId) text += " (correlation id " + e.correlationId + ")";
  return text;
}

function showErrors(errors) {
  const banner = $("error-banner");
  banner.replaceChildren(...errors.map((e) => el("p", {}, e)));
  banner.hidden = errors.length === 0;
}

// ------------------------------------------------------------ sortable tables

/** Makes each header a button that sorts the rows; the choice survives refreshes. */
function makeSortable(table) {
  table.querySelectorAll("thead th").forEach((th, index) => {
    const label = th.textContent;
    const button = el("button", { type: "button", class: "sort" }, label);
    button.addEventListener("click", () => {
      const current = state.sort[table.id];
      const ascending = !(current && current.index === index && current.ascending);
      state.sort[table.id] = { index, ascending };
      applySort(table);
    });
    th.replaceChildren(button);
  });
}

function applySort(table) {
  const choice = state.sort[table.id];
  const headers = table.querySelectorAll("thead th");
  headers.forEach((th) => th.removeAttribute("aria-sort"));
  if (!choice) return;
  const th = headers[choice.index];
  th.setAttribute("aria-sort", choice.ascending ? "ascending" : "descending");
  const numeric = th.dataset.type === "number";
  const value = (row) => {
    const cell = row.cells[choice.index];
    if (!cell) return "";
    const v = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent;
    return numeric ? Number(v) || 0 : v.toLowerCase();
  };
  const body = table.tBodies[0];
  const rows = Array.from(body.rows).filter((r) => !r.classList.contains("empty"));
  rows.sort((a, b) => {
    const [x, y] = [value(a), value(b)];
    const order = x < y ? -1 : x > y ? 1 : 0;
    return choice.ascending ? order : -order;
  });
  body.append(...rows);
}

function fillTable(table, rows, emptyText) {
  const body = table.tBodies[0];
  if (rows.length === 0) {
    const columns = table.querySelectorAll("thead th").length;
    body.replaceChildren(el("tr", { class: "empty" }, el("td", { colspan: columns }, emptyText)));
    return;
  }
  body.replaceChildren(...rows);
  applySort(table);
}

// ------------------------------------------------------------------- refresh

async function refresh() {
  if (state.refreshing) return;
  state.refreshing = true;
  let requests = 0;
  const get = (path) => {
    requests += 1;
    return api("GET", path);
  };
  const tenantsQuery = "?limit=" + TENANTS_PAGE + (state.tenantsCursor ? "&cursor=" + encodeURIComponent(state.tenantsCursor) : "");
  const calls = [
    get("/api/health"),
    get("/api/tenants" + tenantsQuery),
    get("/api/failures?limit=" + FAILURES_PER_GROUP),
    get("/api/gate"),
  ];
  const [health, tenants, failures, gate] = await Promise.allSettled(calls);
  const errors = [];
  const settle = (result, render, what) => {
    if (result.status === "fulfilled") {
      try {
        render(result.value.body);
      } catch (e) {
        errors.push(what + ": " + e);
      }
    } else {
      errors.push(what + ": " + errorText(result.reason));
    }
  };
  settle(health, renderHealth, "health");
  settle(tenants, renderTenants, "tenants");
  settle(failures, renderFailures, "failures");
  settle(gate, renderGate, "gate");
  showErrors(errors);
  $("last-refresh").replaceChildren(timeEl(new Date().toISOString()));
  $("requests-per-refresh").textContent = String(requests);
  document.body.dataset.requestsPerRefresh = String(requests);
  document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
  state.refreshing = false;
}

function schedule() {
  clearInterval(state.timer);
  state.timer = null;
  if ($("auto-refresh").checked) {
    state.timer = setInterval(refresh, Number($("refresh-interval").value) * 1000);
  }
}

function renderHealth(health) {
  const b = $("health-badge");
  b.textContent = "health: " + health.status;
  b.className = "badge " + health.status;
  b.title = "correlation id " + health.correlationId;
  $("health-reasons").replaceChildren(...(health.reasons || []).map((r) => el("li", {}, r)));
  const rows = (health.checks || []).map((c) =>
    el("tr", { class: c.ok ? "" : "miss" },
      td(c.name), td(String(c.value), c.value), td(String(c.threshold), c.threshold),
      td(badge(c.ok ? "ok" : "miss"), c.ok ? 1 : 0)));
  fillTable($("health-table"), rows, "No checks.");
}

function runRow(tenant, run) {
  return el("tr", { class: "status-" + run.status, dataset: { tenant, runId: run.runId } },
    td(tenant), td(run.dataType), td(badge(run.status), run.status), td(run.trigger),
    timeTd(run.startedAt), td(duration(run.durationMs), run.durationMs || 0),
    td(String(run.fetched), run.fetched), td(String(run.enqueued), run.enqueued),
    td(String(run.rejected), run.rejected),
    td(code(run.runId), run.runId, { title: run.errorMessage ? run.errorClass + ": " + run.errorMessage : undefined }));
}

function renderTenants(page) {
  state.tenants = page.tenants || [];
  state.tenantsNext = page.nextCursor;
  $("tenants-more").hidden = !page.nextCursor && !state.tenantsCursor;
  $("tenants-next").textContent = page.nextCursor ? "Next page" : "First page";
  renderRuns();
  const progress = [];
  for (const t of state.tenants) {
    for (const run of t.lastRuns) {
      if (run.status !== "running") continue;
      progress.push(el("tr", { dataset: { tenant: t.tenantId, runId: run.runId } },
        td(t.tenantId), td(run.dataType), timeTd(run.startedAt), td(String(run.pages), run.pages),
        td(String(run.fetched), run.fetched), td(String(run.enqueued), run.enqueued), td(code(run.runId), run.runId)));
    }
  }
  fillTable($("in-progress-table"), progress, "No run in progress.");
  const flagRows = state.tenants.map((t) => {
    const cells = FLAGS.map((name) => {
      const f = (t.flags || []).find((x) => x.name === name);
      if (!f) return td("—");
      return td(el("span", {}, badge(f.value ? "on" : "off"), " ", el("small", {}, f.source)), (f.value ? "1" : "0") + f.source);
    });
    const off = t.targetsDisabled || [];
    return el("tr", { dataset: { tenant: t.tenantId } }, td(t.tenantId, undefined, { title: t.name }), cells,
      td(off.length ? off.join(", ") : "none", off.join(",")), td(t.syncMethod));
  });
  fillTable($("flags-table"), flagRows, "No active tenant.");
  renderTenantSelect();
  renderTargets();
}

function renderRuns() {
  const filter = $("runs-filter").value.trim().toLowerCase();
  const rows = [];
  for (const t of state.tenants) {
    if (filter && !t.tenantId.toLowerCase().includes(filter)) continue;
    for (const run of t.lastRuns) rows.push(runRow(t.tenantId, run));
  }
  fillTable($("runs-table"), rows, filter ? "No tenant matches." : "No run yet.");
}

function renderTenantSelect() {
  const select = $("tenant-select");
  const chosen = select.value;
  const ids = state.tenants.map((t) => t.tenantId);
  const same = select.options.length === ids.length && ids.every((id, i) => select.options[i].value === id);
  if (!same) {
    select.replaceChildren(...ids.map((id) => el("option", { value: id }, id)));
    if (ids.includes(chosen)) select.value = chosen;
  }
}

function selectedTenant() {
  return $("tenant-select").value;
}

function renderTargets() {
  const tenant = state.tenants.find((t) => t.tenantId === selectedTenant());
  const list = $("targets-list");
  if (!tenant) {
    list.replaceChildren(el("li", {}, "Choose a tenant."));
    return;
  }
  const off = tenant.targetsDisabled || [];
  list.replaceChildren(...TARGETS.map((target) => {
    const enabled = !off.includes(target);
    return el("li", { dataset: { target, enabled: String(enabled) } },
      el("span", { class: "target-name" }, target), " ", badge(enabled ? "on" : "off"), " ",
      el("button", { type: "button", class: "switch-target", onclick: () => switchTarget(tenant.tenantId, target, !enabled) },
        (enabled ? "Switch off " : "Switch on ") + target + "…"));
  }));
}

function renderFailures(recent) {
  const rows = (recent.groups || []).map((g) => {
    const last = g.failures[0] || {};
    return el("tr", { dataset: { tenant: g.tenantId, errorClass: g.errorClass } },
      td(g.tenantId), td(g.errorClass), td(g.retryable ? "yes" : "no"),
      td(g.count + (g.more ? "+" : ""), g.count), timeTd(g.lastAt), td(last.source),
      td(last.reason, undefined, { title: last.entity ? "entity " + last.entity : undefined }),
      td(code(last.correlationId), last.correlationId));
  });
  fillTable($("failures-table"), rows, "No failure in the last 24 hours.");
}

function renderGate(gate) {
  const v = $("gate-verdict");
  v.textContent = "gate: " + (gate.pass ? "pass" : "fail");
  v.className = "badge " + (gate.pass ? "pass" : "fail");
  v.title = "correlation id " + gate.correlationId;
  const row = (scope, s) =>
    el("tr", { class: s.pass ? "" : "miss" }, td(scope), td(s.name), td(fmt(s.value), s.value),
      td(s.rule + " " + fmt(s.threshold), s.threshold), td(badge(s.pass ? "pass" : "fail"), s.pass ? 1 : 0));
  const rows = (gate.signals || []).map((s) => row("fleet", s));
  for (const t of gate.tenants || []) {
    if (t.pass) continue;
    for (const s of t.signals) if (!s.pass) rows.push(row(t.tenantId, s));
  }
  fillTable($("gate-table"), rows, "No signal.");
}

function fmt(n) {
  return typeof n === "number" ? (Number.isInteger(n) ? String(n) : n.toFixed(2)) : String(n);
}

// ------------------------------------------------------------------- actions

/** Asks before an action; resolves true only when the operator confirms. */
function confirmAction(title, text) {
  const dialog = $("confirm");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  const opener = document.activeElement;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      if (opener && opener.focus) opener.focus();
      resolve(dialog.returnValue === "ok");
    }, { once: true });
    dialog.returnValue = "cancel";
    dialog.showModal();
    $("confirm-ok").focus();
  });
}

/** A line in the activity list: what was asked, then how it ended. */
function activity(what) {
  const status = el("span", { class: "state" }, "running…");
  const detail = el("div", { class: "detail" });
  const item = el("li", { dataset: { state: "running" } },
    timeEl(new Date().toISOString()), " ", el("strong", {}, what), " ", status, detail);
  $("activity-list").prepend(item);
  return {
    item,
    update(text) {
      status.textContent = text;
    },
    done(text, correlationId, body) {
      item.dataset.state = "done";
      status.textContent = text;
      if (correlationId) {
        item.dataset.correlationId = correlationId;
        detail.replaceChildren("correlation id ", code(correlationId), body || "");
      } else if (body) {
        detail.replaceChildren(body);
      }
    },
    failed(e) {
      item.dataset.state = "failed";
      status.textContent = "failed";
      detail.replaceChildren(errorText(e));
      if (e.correlationId) item.dataset.correlationId = e.correlationId;
    },
  };
}

function showResult(summary, correlationId, ...body) {
  $("result-summary").replaceChildren(summary, correlationId ? el("span", {}, " — correlation id ", code(correlationId)) : "");
  $("result-body").replaceChildren(...body);
}

function requireTenant() {
  const tenant = selectedTenant();
  if (!tenant) showResult("Choose a tenant first.");
  return tenant;
}

async function startRun(event) {
  event.preventDefault();
  const tenant = requireTenant();
  if (!tenant) return;
  const dataTypes = Array.from(document.querySelectorAll("#run-form input[name=dataType]:checked")).map((i) => i.value);
  if (dataTypes.length === 0) {
    showResult("Choose at least one data type.");
    return;
  }
  const dryRun = $("run-dry").checked;
  const force = $("run-force").checked;
  const what = (dryRun ? "dry run of " : "run of ") + dataTypes.join(", ") + " for " + tenant + (force ? " (force)" : "");
  const text = dryRun
    ? "Pull " + dataTypes.join(", ") + " from the source for " + tenant + " and compare with what is held. Nothing is written or queued."
    : "Start " + dataTypes.join(", ") + " for " + tenant + " now" + (force ? ", even if today's run succeeded" : "") + ". The runs write and queue what they pull.";
  if (!(await confirmAction(dryRun ? "Start a dry run?" : "Start a run?", text))) return;
  const line = activity(what);
  try {
    const { status, body } = await api("POST", tenantPath(tenant, "runs"), { dataTypes, dryRun, force });
    if (status === 200) {
      const table = dryRunTable(body.results || []);
      line.done("finished", body.correlationId, table.cloneNode(true));
      showResult("Dry run of " + tenant + " finished; nothing was written.", body.correlationId, table);
      return;
    }
    const runs = body.runs || [];
    const list = el("ul", {}, runs.map((r) => el("li", { dataset: { runId: r.runId || "" } },
      r.dataType + ": " + r.outcome, r.runId ? el("span", {}, " ", code(r.runId)) : "", r.error ? " — " + r.error.class + ": " + r.error.message : "")));
    showResult("Runs for " + tenant + ": " + runs.map((r) => r.dataType + " " + r.outcome).join(", "), body.correlationId, list);
    const started = runs.filter((r) => r.outcome === "started" || r.outcome === "alreadyRunning").map((r) => r.runId);
    if (started.length === 0) {
      line.done(runs.map((r) => r.outcome).join(", "), body.correlationId, list.cloneNode(true));
      return;
    }
    line.update("started; watching…");
    line.item.dataset.correlationId = body.correlationId;
    watchRuns(tenant, started, line, body.correlationId);
    refresh();
  } catch (e) {
    line.failed(e);
    showResult("Could not start: " + errorText(e), e.correlationId);
  }
}

function dryRunTable(results) {
  const head = ["Data type", "Fetched", "New", "Changed", "Unchanged", "Rejected", "Would delete"];
  return el("table", { class: "result-table" },
    el("caption", {}, "What the pull would change"),
    el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, results.map((r) => el("tr", {},
      td(r.dataType), td(r.fetched), td(r.new), td(r.changed), td(r.unchanged), td(r.rejected), td(r.wouldDelete)))));
}

/** Follows started runs through the tenant's newest runs until none is running. */
function watchRuns(tenant, runIds, line, correlationId) {
  const until = Date.now() + WATCH_FOR_MS;
  const tick = async () => {
    try {
      const { body } = await api("GET", tenantPath(tenant, "runs") + "?limit=" + Math.min(100, Math.max(10, runIds.length * 2)));
      const mine = (body.runs || []).filter((r) => runIds.includes(r.runId));
      const running = mine.filter((r) => r.status === "running");
      const summary = mine.map((r) => r.dataType + " " + r.status + " (" + r.fetched + " fetched, " + r.enqueued + " enqueued)").join("; ");
      if (mine.length === runIds.length && running.length === 0) {
        line.done("finished: " + summary, correlationId);
        refresh();
        return;
      }
      line.update("running: " + (summary || "queued"));
    } catch (e) {
      line.update("watching (" + errorText(e) + ")");
    }
    if (Date.now() < until) setTimeout(tick, WATCH_EVERY_MS);
    else line.update("still running after " + WATCH_FOR_MS / 60000 + " minutes; see Last runs");
  };
  setTimeout(tick, WATCH_EVERY_MS);
}

async function traceEntity(event) {
  event.preventDefault();
  const tenant = requireTenant();
  if (!tenant) return;
  const kind = $("trace-kind").value;
  const id = $("trace-id").value.trim();
  const query = "?kind=" + encodeURIComponent(kind) + "&id=" + encodeURIComponent(id);
  try {
    const { body } = await api("GET", tenantPath(tenant, "trace") + query);
    showResult(traceSummary(body), body.correlationId, traceTable(body));
  } catch (e) {
    showResult("Trace failed: " + errorText(e), e.correlationId);
  }
}

function traceSummary(trace) {
  const n = trace.deliveries.length;
  const head = trace.kind + " " + trace.id + " of " + trace.tenantId + ": " + n + " deliver" + (n === 1 ? "y" : "ies");
  if (!trace.winner) return head + "; none applied.";
  return head + "; winner " + trace.winner.eventId + " (" + trace.winner.why + ")";
}

function traceTable(trace) {
  const winner = trace.winner && trace.winner.eventId;
  const head = ["Recorded", "Event", "Source updated", "Outcome", "Why", "Targets", "Correlation id"];
  const why = (d) => {
    if (d.eventId === winner && d.outcome === "applied") return "winner: " + trace.winner.why;
    if (d.beatenBy) return "beaten by " + d.beatenBy;
    return d.reason || "";
  };
  const table = el("table", { id: "trace-table", class: "result-table" },
    el("caption", {}, "Every delivery about " + trace.kind + " " + trace.id + ", oldest first"),
    el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, trace.deliveries.map((d) => el("tr", {
      class: d.eventId === winner && d.outcome === "applied" ? "winner" : "",
      dataset: { eventId: d.eventId || "", outcome: d.outcome },
    },
    timeTd(d.recordedAt), td(code(d.eventId)), timeTd(d.sourceUpdatedAt), td(badge(d.outcome, d.outcome.replace(/ /g, "-"))),
    td(why(d)), td(Object.entries(d.targets || {}).map(([k, v]) => k + ": " + v).join(", ")), td(code(d.correlationId))))));
  if (!winner) return table;
  return el("div", {}, el("p", { id: "trace-winner", class: "winner" }, "Winner: ", code(winner), " — ", trace.winner.why), table);
}

/** A datetime-local value (the operator's zone) as RFC 3339 UTC. */
function localToUtc(value) {
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

function replayRequest(dryRun) {
  const since = localToUtc($("replay-since").value);
  const until = localToUtc($("replay-until").value);
  const kinds = Array.from(document.querySelectorAll("#replay-form input[name=kind]:checked")).map((i) => i.value);
  const request = { since, until, dryRun };
  if (kinds.length) request.kinds = kinds;
  if ($("replay-republish").checked) request.republish = true;
  return request;
}

async function replayDryRun(event) {
  event.preventDefault();
  const tenant = requireTenant();
  if (!tenant) return;
  const request = replayRequest(true);
  if (!request.since || !request.until) {
    showResult("Give the window's start and end.");
    return;
  }
  const text = "List what replaying " + tenant + "'s deliveries from " + request.since + " to " + request.until +
    " would touch. Nothing is changed.";
  if (!(await confirmAction("Dry-run a replay?", text))) return;
  await replay(tenant, request);
}

async function replayForReal() {
  const asked = state.replayAsked;
  if (!asked) return;
  const request = Object.assign({}, asked.request, { dryRun: false });
  const text = "Re-drive " + asked.tenant + "'s deliveries from " + request.since + " to " + request.until +
    " through the worker" + (request.republish ? ", republishing every item touched" : "") +
    ". The ordering rule keeps it from rolling any item back.";
  if (!(await confirmAction("Replay for real?", text))) return;
  await replay(asked.tenant, request);
}

async function replay(tenant, request) {
  const line = activity((request.dryRun ? "replay dry run for " : "replay for ") + tenant);
  try {
    const { body } = await api("POST", tenantPath(tenant, "replay"), request);
    const items = body.items || [];
    const list = el("ul", { id: "replay-items" }, items.map((i) =>
      el("li", { dataset: { itemId: i.id || i.of, action: i.action, reason: i.reason } },
        code(i.id || i.of), i.kind ? " (" + i.kind + ")" : "", " — ", el("strong", {}, i.reason),
        i.detail ? ": " + i.detail : "", " [" + i.action + "]")));
    const counts = body.deliveries + " deliveries, " + body.entities + " entities, " + body.deadLetters + " dead letters in the window";
    const summary = request.dryRun
      ? "Would replay " + items.length + " item(s) of " + tenant + " (" + counts + "); nothing was sent."
      : "Replayed " + tenant + ": sent " + body.sent + " of " + items.length + " item(s) (" + counts + "), replay id " + body.replayId + ".";
    showResult(summary, body.correlationId, list);
    line.done(summary, body.correlationId);
    state.replayAsked = request.dryRun && items.length > 0 ? { tenant, request } : null;
    $("replay-real").disabled = !state.replayAsked;
  } catch (e) {
    line.failed(e);
    showResult("Replay failed: " + errorText(e), e.correlationId);
  }
}

async function switchTarget(tenant, target, enabled) {
  const text = (enabled ? "Switch " + target + " back on" : "Switch " + target + " off") + " for " + tenant +
    (enabled ? ". New changes are sent to it again; backfill what was skipped." : ". Changes are not sent to it (audited as skipped) until it is switched on.");
  if (!(await confirmAction(enabled ? "Switch the target on?" : "Switch the target off?", text))) return;
  const line = activity("switch " + target + (enabled ? " on" : " off") + " for " + tenant);
  try {
    const { body } = await api("PUT", tenantPath(tenant, "targets/" + encodeURIComponent(target)), { enabled });
    const what = target + " is " + (body.enabled ? "on" : "off") + " for " + tenant + (body.changed ? "" : " (it already was)") + ".";
    line.done(what, body.correlationId);
    showResult(what, body.correlationId);
    await refresh();
  } catch (e) {
    line.failed(e);
    showResult("Could not switch " + target + ": " + errorText(e), e.correlationId);
  }
}

// --------------------------------------------------------------------- start

function defaultReplayWindow() {
  const pad = (n) => String(n).padStart(2, "0");
  const local = (d) => d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
    pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  const now = new Date();
  $("replay-until").value = local(now);
  $("replay-since").value = local(new Date(now.getTime() - 60 * 60 * 1000));
}

function start() {
  $("time-zone").textContent = Intl.DateTimeFormat().resolvedOptions().timeZone || "your time zone";
  document.querySelectorAll("table.sortable").forEach(makeSortable);
  $("refresh-now").addEventListener("click", refresh);
  $("auto-refresh").addEventListener("change", schedule);
  $("refresh-interval").addEventListener("change", schedule);
  $("runs-filter").addEventListener("input", renderRuns);
  $("tenant-select").addEventListener("change", renderTargets);
  $("tenants-next").addEventListener("click", () => {
    state.tenantsCursor = state.tenantsNext;
    refresh();
  });
  $("run-form").addEventListener("submit", startRun);
  $("trace-form").addEventListener("submit", traceEntity);
  $("replay-form").addEventListener("submit", replayDryRun);
  $("replay-real").addEventListener("click", replayForReal);
  defaultReplayWindow();
  refresh().then(() => {
    // When the first data was painted, for the benchmark (ms since navigation).
    requestAnimationFrame(() => {
      document.body.dataset.readyMs = String(Math.round(performance.now()));
      document.body.dataset.ready = "true";
    });
  });
  schedule();
}

document.addEventListener("DOMContentLoaded", start);
