// 工单进度: the caller's earlier tickets while the phone rings, the ticket history view
// (state, deadline, overdue mark, every event), the 回访 task with its outcomes, and for
// shift leads the 催办/督办/退单 reminders and the dead-letter list. Self-contained like
// duty.js: it starts when the desk shows an agent id and listens to pushed messages.

const $ = (id) => document.getElementById(id);

async function call(method, path, body) {
  const options = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  try {
    const response = await fetch(path, options);
    let data = {};
    try { data = await response.json(); } catch { /* not JSON */ }
    return { status: response.status, data };
  } catch {
    return { status: 0, data: { message: "无法连接服务器" } };
  }
}

const OUTCOMES = [
  ["satisfied", "满意"],
  ["fairly_satisfied", "基本满意"],
  ["unsatisfied", "不满意（重办）"],
  ["unreached", "未接通"],
];

function when(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" });
}

function el(tag, text, testid) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (testid) node.dataset.testid = testid;
  return node;
}

// A player for a recording: nothing is fetched (nor audited) until the agent presses play;
// the server answers byte ranges, so the player can seek.
function player(url, testid) {
  const audio = el("audio", undefined, testid);
  audio.controls = true;
  audio.preload = "none";
  audio.src = url;
  audio.className = "recording-player";
  return audio;
}

// The calls behind a ticket: its recording and every 回拨 (when, who, outcome).
async function fillCalls(number, box) {
  const result = await call("GET", `/api/tickets/${encodeURIComponent(number)}/calls`);
  if (result.status !== 200) return;
  const parts = [];
  const inbound = result.data.call;
  if (inbound) {
    // Time on hold: the citizen listened to music, not to an agent (来电保持时长).
    const hold = inbound.hold_count
      ? `保持 ${inbound.hold_count} 次，共 ${inbound.hold_seconds} 秒`
      : "未保持";
    const p = el("p", `来电 ${when(inbound.arrived_at)} · ${hold}`, "case-call-hold");
    p.className = "small";
    parts.push(p);
  }
  if (result.data.recording) {
    const p = el("p", "通话录音 ", "case-recording-row");
    p.className = "small";
    p.append(player(result.data.recording.url, "case-recording"));
    parts.push(p);
  }
  const dials = result.data.outbound_calls;
  if (dials.length) {
    parts.push(el("h3", "回拨记录"));
    const list = el("ol", undefined, "case-dials");
    list.className = "case-events small";
    for (const d of dials) {
      const li = el("li", undefined, "case-dial");
      li.dataset.outcome = d.outcome || "";
      li.append(el("span", when(d.started_at)), " ", el("span", `坐席 ${d.agent_id}`), " ",
        el("b", d.outcome_label, "case-dial-outcome"));
      if (d.recording) li.append(" ", player(d.recording, "case-dial-recording"));
      list.append(li);
    }
    parts.push(list);
  }
  box.replaceChildren(...parts);
}

function renderCase(view, target) {
  const head = el("p", "", "case-head");
  const badge = el("span", view.state_label, "case-state");
  badge.className = "case-state";
  badge.dataset.state = view.state;
  head.append(el("strong", view.number), " ", badge);
  if (view.overdue) {
    const mark = el("span", "已超期", "case-overdue");
    mark.className = "overdue";
    head.append(" ", mark);
  }
  const deadline = el("p", `时限：${view.time_limit} · 截止 ${when(view.deadline)}`, "case-deadline");
  deadline.className = "muted small";
  const info = el("p", `${view.address} · ${view.description}`);
  info.className = "small";
  // 好差评: what the caller pressed after the agent hung up (absent when not asked).
  const survey = el("p", `好差评：${view.survey_label || "—"}`, "case-survey");
  survey.className = "small";
  if (view.survey) survey.dataset.survey = view.survey;
  const events = el("ol", undefined, "case-events");
  events.className = "case-events small";
  for (const e of view.events) {
    const li = el("li", undefined, "case-event");
    li.dataset.type = e.type;
    li.append(el("span", when(e.at)), " ", el("b", e.label), " ", el("span", e.by));
    if (e.reason) li.append(" — ", el("span", e.reason));
    events.append(li);
  }
  const calls = el("div", undefined, "case-calls");
  target.replaceChildren(head, deadline, info, survey, calls, events);
  fillCalls(view.number, calls);
}

async function showTicket(number) {
  const out = $("case-view");
  out.hidden = false;
  const result = await call("GET", `/api/tickets/${encodeURIComponent(number)}`);
  if (result.status !== 200) {
    out.replaceChildren(el("p", result.data.message || "查询失败", "case-error"));
    return null;
  }
  renderCase(result.data, out);
  return result.data;
}

async function lookup(event) {
  event.preventDefault();
  const number = $("case-number").value.trim();
  if (number) await showTicket(number);
}

// --- the caller's earlier tickets (查询进度 without asking them to repeat) -------------

async function showHistory(caller) {
  const list = $("caller-history");
  if (!caller) { list.hidden = true; return; }
  const result = await call("GET", `/api/tickets?phone=${encodeURIComponent(caller)}`);
  const rows = result.status === 200 ? result.data.tickets : [];
  if (!rows.length) { list.hidden = true; return; }
  list.hidden = false;
  list.replaceChildren(el("li", "来电人历史工单：", "history-title"), ...rows.map((t) => {
    const li = el("li", undefined, "history-item");
    const link = el("button", t.number);
    link.type = "button";
    link.className = "link-btn small";
    link.addEventListener("click", () => showTicket(t.number));
    li.append(link, ` ${t.state_label}`, t.overdue ? "（已超期）" : "", ` 截止 ${when(t.deadline)}`);
    return li;
  }));
}

// --- 回访 ---------------------------------------------------------------------------

let visit = null;

async function showVisit(message) {
  visit = message.ticket;
  $("visit-task").hidden = false;
  $("visit-result").textContent = "";
  $("visit-ticket").textContent = message.ticket;
  const view = await call("GET", `/api/tickets/${encodeURIComponent(message.ticket)}`);
  if (view.status === 200) {
    $("visit-phone").textContent = view.data.phone;
    // What the citizen reported, and what the department says it did (处置 note).
    const handled = [...view.data.events].reverse().find((e) => e.type === "handled");
    $("visit-summary").textContent = handled && handled.reason
      ? `${view.data.description}（处置：${handled.reason}）`
      : view.data.description;
  }
}

async function recordVisit(outcome) {
  if (!visit) return;
  const result = await call("POST", `/api/tickets/${encodeURIComponent(visit)}/visit`, {
    outcome,
    note: $("visit-note").value.trim(),
  });
  if (result.status === 200) {
    $("visit-result").textContent = `已记录：${result.data.state_label}`;
    $("visit-task").hidden = true;
    $("visit-note").value = "";
    visit = null;
    $("case-number").value = result.data.number;
    renderCase(result.data, $("case-view"));
    $("case-view").hidden = false;
  } else {
    $("visit-result").textContent = result.data.message || "记录失败";
  }
}

// --- shift leads: reminders and dead letters -----------------------------------------

function remind(message) {
  const list = $("case-reminders");
  const li = el("li", `${when(message.at)} ${message.ticket} ${message.event_label}（${message.state_label}）`,
    "case-reminder");
  li.dataset.event = message.event;
  list.prepend(li);
  while (list.children.length > 20) list.lastElementChild.remove();
}

async function loadDeadLetters() {
  const result = await call("GET", "/api/dead-letters");
  if (result.status !== 200) return;
  const list = $("dead-letters");
  const rows = result.data.dead_letters;
  if (!rows.length) { list.replaceChildren(el("li", "暂无", "dead-empty")); return; }
  list.replaceChildren(...rows.map((d) => {
    const li = el("li", `${when(d.dead_at)} ${d.ticket} ${d.command} ${d.error}`, "dead-letter");
    const retry = el("button", "重发", "dead-retry");
    retry.type = "button";
    retry.className = "quiet small-btn";
    retry.addEventListener("click", async () => {
      await call("POST", `/api/dead-letters/${d.id}/retry`, {});
      await loadDeadLetters();
    });
    li.append(" ", retry);
    return li;
  }));
}

// --- voicemail drafts: listened to, completed in the ticket form, forwarded --------------

async function loadVoicemails() {
  const result = await call("GET", "/api/voicemails");
  const list = $("voicemail-list");
  const rows = result.status === 200 ? result.data.voicemails : [];
  if (!rows.length) { list.replaceChildren(el("li", "暂无", "voicemail-empty")); return; }
  list.replaceChildren(...rows.map((v) => {
    const li = el("li", `${when(v.left_at)} ${v.phone} ${v.duration_seconds}秒 `, "voicemail-item");
    const listen = player(v.recording, "voicemail-recording");
    const complete = el("button", "补全工单", "voicemail-complete");
    complete.type = "button";
    complete.className = "quiet small-btn";
    complete.addEventListener("click", () => {
      document.dispatchEvent(new CustomEvent("hotline:complete-draft", { detail: v }));
    });
    li.append(listen, " ", complete);
    return li;
  }));
}

let started = null;

async function start() {
  const me = await call("GET", "/api/me");
  if (me.status !== 200) return;
  const agent = me.data.agent;
  if (started === agent.id) return;
  started = agent.id;
  $("case-panel").hidden = false;
  $("case-lead").hidden = agent.role !== "lead";
  await loadVoicemails();
  if (agent.role === "lead") await loadDeadLetters();
}

document.addEventListener("hotline:draft-completed", (event) => {
  loadVoicemails();
  $("case-number").value = event.detail.number;
  renderCase(event.detail, $("case-view"));
  $("case-view").hidden = false;
});
document.addEventListener("hotline:message", (event) => {
  const message = event.detail;
  if (message.type === "call.offered") showHistory(message.caller);
  else if (message.type === "visit.offered") showVisit(message);
  else if (message.type === "case.reminder") remind(message);
  else if (message.type === "case.updated") {
    if (!$("case-view").hidden && $("case-number").value.trim() === message.ticket) {
      showTicket(message.ticket);
    }
    if (!$("case-lead").hidden && message.event === "reassigned") loadDeadLetters();
  }
});
$("case-form").addEventListener("submit", lookup);
$("dead-refresh").addEventListener("click", loadDeadLetters);
for (const [outcome, label] of OUTCOMES) {
  const button = el("button", label, `visit-${outcome}`);
  button.type = "button";
  button.className = outcome === "satisfied" ? "small-btn" : "quiet small-btn";
  button.addEventListener("click", () => recordVisit(outcome));
  $("visit-outcomes").append(button);
}
new MutationObserver(() => { if ($("agent-id").textContent) start(); })
  .observe($("agent-id"), { childList: true, characterData: true, subtree: true });
if ($("agent-id").textContent) start();
