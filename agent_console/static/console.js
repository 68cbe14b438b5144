// The agent console: log in, change state, follow the call live, write the ticket (工单)
// with department suggestions. Plain ES2020 module, no framework, no build step.

import { onTransferMessage, renderTransfer, setupTransfer } from "./transfer.js";
import { requestJson } from "./http.js";
import { clearAssist, mergeInto, setupAssist, showAssist } from "./assist.js";

const STATE_LABELS = {
  logged_out: "未签入",
  ready: "空闲",
  offered: "振铃",
  talking: "通话中",
  wrap_up: "话后处理",
  paused: "示忙",
};
const REQUEST_LABELS = { ready: "示闲", paused: "示忙", logged_out: "签出" };
const END_REASONS = {
  "caller-hangup": "来电人已挂机",
  "agent-hangup": "坐席已挂机",
  transferred: "已转接",
  "agent-left": "已退出三方通话",
  "agent-hangup": "坐席挂断",
  "department-hangup": "部门已挂机",
  "transfer-failed": "转接未成功",
  timeout: "通话超时",
  shutdown: "系统关闭",
  error: "线路异常",
};
const MISSED_REASONS = {
  "not-registered": "话机未注册",
  unreachable: "话机无法连接",
  "no-answer": "振铃无人接听",
  "no-media-port": "系统线路繁忙",
};
const FIELD_LABELS = {
  caller_name: "来电人姓名",
  phone: "联系电话",
  address: "地址",
  description: "诉求描述",
  department_code: "承办部门",
  hotline: "热线",
  urgent: "紧急",
  category_code: "事项类别",
  call_id: "关联来电",
};
const INVALID_MESSAGES = {
  phone: "请填写正确的电话号码（只能包含数字，可带 +、- 或空格）",
  department_code: "承办部门无效，请重新选择",
  hotline: "请选择热线",
  category_code: "事项类别无效，请修改诉求描述后重试",
  call_id: "关联的来电无效，已取消关联，请再次保存",
};
const REQUIRED = ["phone", "address", "description", "department_code", "hotline"];
// The server's rule (hotline/tickets.py); used only to decide whether a caller number can prefill.
const PHONE_PATTERN = /^\+?[0-9][0-9\- ]{2,30}$/;
const CLASSIFY_DELAY_MS = 250;
const PING_EVERY_MS = 25000;
const SILENCE_LIMIT_MS = 60000;

const $ = (id) => document.getElementById(id);

const desk = {
  agent: null,
  hotlines: [],
  state: "logged_out",
  call: null, // the call in the call panel: {id, caller, dialled, queue, phase, connectedAt, endedAt}
  ticketCall: null, // the call the ticket form is linked to (its call_id is sent on save)
  ticketed: new Set(), // calls that already have a saved ticket from this page
  phoneAuto: "", // the phone number the page filled in (not typed by the agent)
  category: null,
  suggestions: [],
  departmentTouched: false,
  categoryTouched: false,
  urgentTouched: false,
  emergencyTouched: false,
  draft: null, // the voicemail draft the form completes (its number), if any
  saving: false,
  classifySeq: 0,
  classifyTimer: null,
  socket: null,
  reconnectDelay: 1000,
  reconnectTimer: null,
  pingTimer: null,
  lastMessageAt: 0,
  callTicker: null,
  statePushes: 0, // agent.state messages received, to tell a stale HTTP answer
};

// ---------------------------------------------------------------------------- API

class SessionLost extends Error {}

async function api(method, path, body) {
  const answer = await requestJson(method, path, body, "无法连接服务器，请检查网络后重试");
  if (answer.status === 401 && desk.agent && path !== "/api/login") {
    sessionLost();
    throw new SessionLost();
  }
  return answer;
}

function sessionLost() {
  stopSocket();
  desk.agent = null;
  showLogin("登录已过期，请重新登录");
}

// ---------------------------------------------------------------------------- views

function showLogin(message = "") {
  $("boot").hidden = true;
  $("desk-view").hidden = true;
  $("login-view").hidden = false;
  const error = $("login-error");
  error.textContent = message;
  error.hidden = !message;
  $("login-password").value = "";
  ($("login-agent").value ? $("login-password") : $("login-agent")).focus();
}

function showBanner(message) {
  const banner = $("banner");
  banner.textContent = message;
  banner.hidden = !message;
}

// ---------------------------------------------------------------------------- agent state

function showState(state, afterCall = undefined) {
  desk.state = state;
  const badge = $("state-badge");
  badge.textContent = STATE_LABELS[state] || state;
  badge.dataset.state = state;
  for (const [button, value] of [["btn-ready", "ready"], ["btn-paused", "paused"], ["btn-logout", "logged_out"]]) {
    $(button).setAttribute("aria-pressed", String(state === value));
  }
  if (afterCall !== undefined) {
    $("state-note").textContent = afterCall ? `通话结束后${REQUEST_LABELS[afterCall] || afterCall}` : "";
  } else if (state !== "offered" && state !== "talking") {
    $("state-note").textContent = "";
  }
  updateCallHint();
}

async function requestState(state) {
  let result;
  const pushed = desk.statePushes;
  try {
    result = await api("POST", `/api/agents/${encodeURIComponent(desk.agent.id)}/state`, { state });
  } catch (error) {
    if (error instanceof SessionLost) return;
    throw error;
  }
  const { status, data } = result;
  if (status === 200) {
    showBanner("");
    // A state pushed on the websocket meanwhile (the call offered at once, then answered) is
    // newer than this answer.
    if (desk.statePushes === pushed) showState(data.state, data.after_call);
    else if (data.after_call) $("state-note").textContent = `通话结束后${REQUEST_LABELS[data.after_call] || data.after_call}`;
  } else {
    showBanner(`${REQUEST_LABELS[state]}失败：${data.message || `服务器错误 ${status}`}`);
  }
}

// ---------------------------------------------------------------------------- call panel

function hotlineFor(call) {
  // A 12345 transfer is dialled on its own number but queued (and ticketed) under a hotline.
  if (call.queue && desk.hotlines.includes(call.queue)) return call.queue;
  if (call.dialled && desk.hotlines.includes(call.dialled)) return call.dialled;
  return call.queue || call.dialled || "";
}

function formatDuration(ms) {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const mm = String(Math.floor(seconds / 60)).padStart(2, "0");
  const ss = String(seconds % 60).padStart(2, "0");
  return seconds >= 3600 ? `${Math.floor(seconds / 3600)}:${mm.slice(-2)}:${ss}` : `${mm}:${ss}`;
}

function tickCall() {
  const call = desk.call;
  if (!call || !call.connectedAt) {
    $("call-timer").textContent = "";
    return;
  }
  const end = call.endedAt || Date.now();
  const prefix = call.phase === "connected" ? "通话时长 " : "本次通话 ";
  const hold = call.phase === "ended" && call.holdCount
    ? ` · 保持 ${call.holdCount} 次，共 ${formatDuration(call.holdSeconds * 1000)}`
    : "";
  $("call-timer").textContent = prefix + formatDuration(end - call.connectedAt) + hold;
}

function setCallTicker(running) {
  clearInterval(desk.callTicker);
  desk.callTicker = running ? setInterval(tickCall, 1000) : null;
  tickCall();
}

// Who put the call on hold (the server's leg roles).
const HOLDERS = { caller: "来电方", agent: "坐席话机", department: "转接方" };

function renderCall() {
  const call = desk.call;
  const panel = $("call-panel");
  panel.dataset.phase = call ? call.phase : "idle";
  const status = $("call-status");
  if (!call) {
    status.textContent = "等待来电";
    $("call-caller").textContent = "";
    $("call-hotline").textContent = "";
    $("call-dialled").textContent = "";
  } else {
    status.textContent = {
      offered: "来电振铃 · 请接听话机",
      connected: call.held ? `通话保持中（${HOLDERS[call.held] || "对方"}保持，对方听等待音乐）` : "通话中",
      ended: `已挂机${call.reason && END_REASONS[call.reason] ? `（${END_REASONS[call.reason]}）` : ""}`,
      missed: `未接来电（${MISSED_REASONS[call.reason] || call.reason || "未接听"}），已自动示忙`,
    }[call.phase];
    $("call-caller").textContent = call.caller || "未知号码";
    const hotline = hotlineFor(call);
    $("call-hotline").textContent = hotline;
    $("call-dialled").textContent = call.dialled && call.dialled !== hotline ? `拨入 ${call.dialled}` : "";
  }
  document.title = call && call.phase === "offered" ? `【来电】${call.caller} — 城管热线坐席台` : "城管热线坐席台";
  setCallTicker(Boolean(call && call.phase === "connected"));
  updateCallHint();
  renderLink();
  renderTransfer(call);
  renderEmergency();
}

function updateCallHint() {
  const hint = $("call-hint");
  if (desk.call) {
    hint.textContent = desk.call.phase === "ended" || desk.call.phase === "missed"
      ? "" : "来电号码已填入工单的联系电话，请与来电人核对。";
  } else if (desk.state === "ready") {
    hint.textContent = "空闲中，来电会自动分配到这里。";
  } else if (desk.state === "wrap_up") {
    hint.textContent = "话后处理中：请完成工单，稍后自动恢复空闲（按 示闲 可立即恢复）。";
  } else {
    hint.textContent = "按 示闲 后开始接听来电。";
  }
  hint.hidden = !hint.textContent;
}

function onCallMessage(kind, message) {
  const known = desk.call && desk.call.id === message.call_id ? desk.call : null;
  const caller = message.caller ?? known?.caller ?? "";
  const base = {
    id: message.call_id,
    caller,
    dialled: message.hotline ?? known?.dialled ?? "",
    queue: message.queue ?? known?.queue ?? "",
    connectedAt: known?.connectedAt ?? null,
    endedAt: null,
    reason: message.reason ?? "",
  };
  if (kind === "call.offered") {
    desk.call = { ...base, phase: "offered" };
    offerToTicket(desk.call);
  } else if (kind === "call.connected") {
    // The server says when the call was connected, so a reloaded page keeps the true duration.
    const serverTime = message.connected_at ? Date.parse(message.connected_at) : NaN;
    const connectedAt = Number.isNaN(serverTime) ? base.connectedAt || Date.now() : serverTime;
    desk.call = { ...base, phase: "connected", connectedAt };
    offerToTicket(desk.call);
    // The caller is talking: the agent writes what they say.
    if (!known || known.phase !== "connected") $("ticket-description").focus();
  } else if (kind === "call.ended") {
    if (!known && !caller) return; // an end for a call this page never saw
    desk.call = { ...base, phase: "ended", endedAt: Date.now(), holdCount: message.hold_count || 0, holdSeconds: message.hold_seconds || 0 };
  } else if (kind === "call.missed") {
    desk.call = { ...base, phase: "missed" };
    if (desk.ticketCall && desk.ticketCall.id === message.call_id) {
      // The call goes back to the queue for another agent: this form must not claim it.
      unlinkCall();
    }
  }
  renderCall();
}

// ---------------------------------------------------------------------------- ticket ↔ call

function formPristine() {
  const phone = $("ticket-phone").value.trim();
  return !$("ticket-name").value.trim() && !$("ticket-address").value.trim()
    && !$("ticket-description").value.trim() && (!phone || phone === desk.phoneAuto);
}

function offerToTicket(call) {
  if (desk.ticketCall && desk.ticketCall.id === call.id) return;
  if (desk.ticketed.has(call.id)) return;
  if (formPristine()) {
    linkCall(call);
  } else {
    showNotice("新来电已接入。表单里还有未保存的内容，保存或清空后将为新来电建单；也可点来电面板的“为此来电建单”。");
  }
}

function linkCall(call) {
  desk.ticketCall = { id: call.id, caller: call.caller, dialled: call.dialled, queue: call.queue };
  const phone = $("ticket-phone");
  const caller = (call.caller || "").trim();
  if (PHONE_PATTERN.test(caller) && (!phone.value.trim() || phone.value === desk.phoneAuto)) {
    phone.value = caller;
    desk.phoneAuto = caller;
    clearFieldError("phone");
  }
  const hotline = hotlineFor(call);
  if (desk.hotlines.includes(hotline)) $("ticket-hotline").value = hotline;
  showNotice("");
  renderLink();
}

function unlinkCall() {
  if (desk.ticketCall && $("ticket-phone").value === desk.phoneAuto) {
    $("ticket-phone").value = "";
  }
  desk.phoneAuto = "";
  desk.ticketCall = null;
  renderLink();
}

function renderLink() {
  const linked = desk.ticketCall;
  $("ticket-call").hidden = !linked;
  $("ticket-unlink").hidden = !linked;
  $("ticket-call").textContent = linked ? `关联来电 ${linked.caller || "未知号码"}（${hotlineFor(linked)}）` : "";
  const call = desk.call;
  $("call-link").hidden = !call || call.phase === "missed" || desk.ticketed.has(call.id)
    || Boolean(linked && linked.id === call.id);
}

function showNotice(message) {
  $("ticket-notice").textContent = message;
  $("ticket-notice").hidden = !message;
}

// ---------------------------------------------------------------------------- suggestions

function scheduleClassify() {
  clearTimeout(desk.classifyTimer);
  desk.classifyTimer = setTimeout(classify, CLASSIFY_DELAY_MS);
}

async function classify() {
  const text = $("ticket-description").value;
  const seq = ++desk.classifySeq;
  if (!text.trim()) {
    renderSuggestions(null);
    return;
  }
  let result;
  try {
    result = await api("POST", "/api/classify", { text: text.slice(0, 4000) });
  } catch (error) {
    if (error instanceof SessionLost) return;
    throw error;
  }
  if (seq !== desk.classifySeq) return; // a newer keystroke already asked again
  if (result.status === 200) {
    renderSuggestions(result.data);
    showAssist(result.data, text, desk.category);
    $("suggestions").dataset.classified = text; // which text the chips are for
  } else {
    const box = $("suggestions");
    box.replaceChildren(note("暂时无法获取推荐，请手动选择承办部门"));
  }
}

// The three likeliest directory categories for the department, with scores: the agent picks
// one (the first is preselected); a pick sticks while the description changes.
function renderCategories(categories) {
  const box = $("category");
  if (!categories.length) {
    box.replaceChildren();
    return;
  }
  const label = document.createElement("span");
  label.textContent = "事项类别：";
  const chips = categories.map((category) => {
    const chip = document.createElement("button");
    chip.type = "button";
    chip.className = "chip small";
    chip.setAttribute("data-testid", "category-choice");
    chip.dataset.code = category.code;
    const name = document.createElement("span");
    name.textContent = category.name;
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = `${Math.round(category.score * 100)}%`;
    chip.append(name, score);
    chip.addEventListener("click", () => {
      desk.category = category.code;
      desk.categoryTouched = true;
      markCategory();
    });
    return chip;
  });
  box.replaceChildren(label, ...chips);
  markCategory();
}

function markCategory() {
  for (const chip of $("category").querySelectorAll("[data-testid=category-choice]")) {
    const chosen = chip.dataset.code === desk.category;
    chip.classList.toggle("chosen", chosen);
    chip.setAttribute("aria-pressed", String(chosen));
  }
}

function note(text) {
  const span = document.createElement("span");
  span.className = "muted small placeholder";
  span.textContent = text;
  return span;
}

function renderSuggestions(result) {
  const box = $("suggestions");
  if (!result) {
    delete box.dataset.classified;
    desk.suggestions = [];
    if (!desk.categoryTouched) desk.category = null;
    box.replaceChildren(note("输入诉求描述后自动推荐"));
    $("category").replaceChildren();
    clearAssist();
    if (!desk.urgentTouched) setUrgent(false, "");
    setEmergency(null);
    return;
  }
  desk.suggestions = result.departments || [];
  const chips = desk.suggestions.map((department, index) => {
    const chip = document.createElement("button");
    chip.type = "button";
    chip.className = department.score > 0 ? "chip" : "chip weak";
    chip.setAttribute("data-testid", "suggestion");
    chip.dataset.code = department.code;
    chip.title = `Alt+${index + 1} 选用`;
    const name = document.createElement("span");
    name.textContent = department.name;
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = `${Math.round(department.score * 100)}%`;
    chip.append(name, score);
    chip.addEventListener("click", () => chooseDepartment(department.code));
    return chip;
  });
  box.replaceChildren(...chips);
  if (!desk.categoryTouched) desk.category = result.category ? result.category.code : null;
  renderCategories(result.categories || []);
  const top = desk.suggestions[0];
  if (top && top.score > 0 && !desk.departmentTouched) {
    $("ticket-department").value = top.code;
    $("department-auto").hidden = false;
    clearFieldError("department_code");
  }
  if (!desk.urgentTouched) setUrgent(Boolean(result.urgent), result.urgent_reason || "");
  setEmergency(result.emergency);
  markChosen();
}

// 国办函〔2025〕66号: a 110/119/120/122 matter is handed over at once, in one click.
const EMERGENCY_NAMES = { 110: "110 公安", 119: "119 消防", 120: "120 急救", 122: "122 交通事故" };

function renderEmergency() {
  const service = $("ticket-emergency").value;
  const call = desk.call;
  const box = $("emergency-box");
  box.hidden = !service || !call || call.phase !== "connected";
  $("btn-emergency").textContent = service ? `一键转接 ${EMERGENCY_NAMES[service]}` : "";
}

async function emergencyTransfer() {
  const call = desk.call;
  const service = $("ticket-emergency").value;
  if (!call || !service) return;
  $("btn-emergency").disabled = true;
  let result;
  try {
    result = await api("POST", `/api/calls/${encodeURIComponent(call.id)}/emergency`, { service });
  } catch (error) {
    if (error instanceof SessionLost) return;
    result = { status: 0, data: { message: "转接失败，请重试" } };
  } finally {
    $("btn-emergency").disabled = false;
  }
  $("emergency-status").textContent = result.status === 202
    ? `正在转接 ${EMERGENCY_NAMES[service]}，工单已标注警情`
    : (result.data.message || "转接失败");
}

function setEmergency(emergency) {
  if (desk.emergencyTouched) return;
  $("ticket-emergency").value = emergency ? emergency.service : "";
  $("emergency-reason").textContent = emergency ? `系统判断：${emergency.reason}` : "";
  renderEmergency();
}

function setUrgent(urgent, reason) {
  $("ticket-urgent").checked = urgent;
  $("urgent-reason").textContent = urgent && reason ? `系统判断：${reason}` : "";
}

function chooseDepartment(code) {
  $("ticket-department").value = code;
  desk.departmentTouched = true;
  $("department-auto").hidden = true;
  clearFieldError("department_code");
  markChosen();
}

function markChosen() {
  const chosen = $("ticket-department").value;
  for (const chip of $("suggestions").querySelectorAll(".chip")) {
    const on = chip.dataset.code === chosen;
    chip.classList.toggle("chosen", on);
    chip.setAttribute("aria-pressed", String(on));
  }
}

// ---------------------------------------------------------------------------- saving

function fieldErrorElement(field) {
  return document.querySelector(`#ticket-form .field-error[data-field="${CSS.escape(field)}"]`);
}

function clearErrors() {
  for (const element of document.querySelectorAll("#ticket-form .field-error")) {
    element.hidden = true;
    element.textContent = "";
  }
  $("form-error").removeAttribute("data-field");
  for (const input of document.querySelectorAll("#ticket-form [aria-invalid]")) {
    input.removeAttribute("aria-invalid");
  }
}

function clearFieldError(field) {
  const element = fieldErrorElement(field);
  if (element) {
    element.hidden = true;
    element.textContent = "";
  }
  const input = document.querySelector(`#ticket-form [name="${CSS.escape(field)}"]`);
  if (input) input.removeAttribute("aria-invalid");
}

function showError(field, message, detail = "") {
  let element = field ? fieldErrorElement(field) : null;
  if (!element) {
    element = $("form-error");
    if (field) element.dataset.field = field;
  }
  element.textContent = message;
  element.title = detail;
  element.hidden = false;
  const input = field ? document.querySelector(`#ticket-form [name="${CSS.escape(field)}"]`) : null;
  if (input) input.setAttribute("aria-invalid", "true");
  return input;
}

function errorMessage(status, data) {
  const field = data.field;
  const label = FIELD_LABELS[field] || "";
  if (data.error_id === "missing-field" && label) {
    return field === "department_code" || field === "hotline" ? `请选择${label}` : `请填写${label}`;
  }
  if (data.error_id === "unknown-call") return INVALID_MESSAGES.call_id;
  const tooLong = /longer than (\d+)/.exec(data.message || "");
  if (data.error_id === "invalid-field" && tooLong) {
    return `${label || "内容"}太长（最多 ${tooLong[1]} 字）`;
  }
  if (data.error_id === "invalid-field" && INVALID_MESSAGES[field]) return INVALID_MESSAGES[field];
  if (status === 0) return data.message;
  if (status >= 500) return `服务器出错（${status}），工单未保存，请稍后重试`;
  const base = data.message || `服务器返回 ${status}`;
  return label ? `${label}有误：${base}` : `工单未保存：${base}`;
}

function ticketForm() {
  return {
    hotline: $("ticket-hotline").value,
    call_id: desk.ticketCall ? desk.ticketCall.id : null,
    caller_name: $("ticket-name").value.trim(),
    phone: $("ticket-phone").value.trim(),
    address: $("ticket-address").value.trim(),
    description: $("ticket-description").value.trim(),
    department_code: $("ticket-department").value,
    category_code: desk.category,
    urgent: $("ticket-urgent").checked,
    merge_into: mergeInto(),
    confidential: $("ticket-confidential").checked,
    emergency_service: $("ticket-emergency").value || null,
  };
}

async function saveTicket() {
  if (desk.saving || !desk.agent) return;
  clearErrors();
  $("ticket-saved").textContent = "";
  delete $("ticket-saved").dataset.number;
  const form = ticketForm();

  // Empty required fields are reported all at once; the server checks everything else.
  const missing = REQUIRED.filter((field) => !form[field] && !(desk.draft && field === "phone"));
  if (missing.length) {
    let first = null;
    for (const field of missing) {
      const input = showError(field, errorMessage(400, { error_id: "missing-field", field }));
      first = first || input;
    }
    if (first) first.focus();
    return;
  }

  desk.saving = true;
  $("ticket-save").disabled = true;
  $("save-progress").textContent = "正在保存…";
  let result;
  try {
    // A voicemail draft being completed keeps its number, call and recording.
    const path = desk.draft ? `/api/voicemails/${encodeURIComponent(desk.draft)}/complete` : "/api/tickets";
    result = await api("POST", path, form);
  } catch (error) {
    if (error instanceof SessionLost) return;
    result = { status: 0, data: { message: "保存失败，请重试" } };
  } finally {
    desk.saving = false;
    $("ticket-save").disabled = false;
    $("save-progress").textContent = "";
  }
  const { status, data } = result;
  if (status === 201 && data.number && desk.draft) {
    desk.draft = null;
    document.dispatchEvent(new CustomEvent("hotline:draft-completed", { detail: data }));
  }
  if (status === 201 && data.number) {
    saved(data.merged_into ? `${data.number}（已并入 ${data.merged_into}）` : data.number, form);
    return;
  }
  if (data.error_id === "unknown-call") unlinkCall();
  const field = data.error_id === "unknown-call" ? "call_id" : data.field;
  const input = showError(field, errorMessage(status, data), data.message || "");
  if (input) input.focus();
}

function saved(number, form) {
  const box = $("ticket-saved");
  box.textContent = `已保存：${number}`;
  box.dataset.number = number;
  if (form.call_id) desk.ticketed.add(form.call_id);

  const list = $("recent-list");
  if (list.querySelector(".muted")) list.replaceChildren();
  const item = document.createElement("li");
  const time = new Date().toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit" });
  item.textContent = `${time}  ${number}`;
  item.dataset.number = number;
  list.prepend(item);
  while (list.children.length > 8) list.lastElementChild.remove();

  resetForm();
  // A second matter in the same call: the next ticket keeps the call and the phone number.
  const call = desk.call;
  if (form.call_id && call && call.id === form.call_id && call.phase === "connected") {
    linkCall(call);
    $("ticket-phone").value = form.phone;
    desk.phoneAuto = form.phone;
  }
  $("ticket-name").focus();
}

function resetForm() {
  $("ticket-form").reset();
  clearErrors();
  clearTimeout(desk.classifyTimer);
  desk.classifySeq += 1; // drop any classification still in flight
  Object.assign(desk, {
    category: null, categoryTouched: false, departmentTouched: false, urgentTouched: false,
    emergencyTouched: false, phoneAuto: "", ticketCall: null, draft: null,
  });
  $("ticket-phone").placeholder = "";
  $("emergency-reason").textContent = "";
  $("emergency-status").textContent = "";
  renderSuggestions(null);
  $("department-auto").hidden = true;
  $("ticket-hotline").value = desk.hotlines[0] || "";
  showNotice("");
  // A call still in progress (not yet ticketed) gets the fresh form.
  const call = desk.call;
  if (call && (call.phase === "offered" || call.phase === "connected") && !desk.ticketed.has(call.id)) {
    linkCall(call);
  }
  renderLink();
}

// ---------------------------------------------------------------------------- websocket

function connectSocket() {
  stopSocket();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws`);
  desk.socket = socket;
  let opened = false;
  socket.addEventListener("open", () => {
    opened = true;
    document.body.dataset.socket = "open"; // lets tests and styles see the live connection
    desk.reconnectDelay = 1000;
    desk.lastMessageAt = Date.now();
    showBanner("");
    desk.pingTimer = setInterval(() => {
      if (Date.now() - desk.lastMessageAt > SILENCE_LIMIT_MS) {
        socket.close(); // silent too long: the close handler reconnects
      } else if (socket.readyState === WebSocket.OPEN) {
        socket.send("ping");
      }
    }, PING_EVERY_MS);
  });
  socket.addEventListener("message", (event) => {
    desk.lastMessageAt = Date.now();
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    onSocketMessage(message);
  });
  socket.addEventListener("close", (event) => {
    document.body.dataset.socket = "closed";
    clearInterval(desk.pingTimer);
    if (desk.socket !== socket || !desk.agent) return; // replaced, or logged out on purpose
    desk.socket = null;
    // 1008: the session ended (expired, idle, logged out elsewhere): ask before reconnecting.
    scheduleReconnect(opened && event.code !== 1008);
  });
}

function scheduleReconnect(wasOpen) {
  const delay = Math.round(desk.reconnectDelay * (0.8 + Math.random() * 0.4));
  desk.reconnectDelay = Math.min(desk.reconnectDelay * 2, 30000);
  showBanner(`实时连接已断开，${Math.ceil(delay / 1000)} 秒后重连…（来电提醒暂不可用）`);
  desk.reconnectTimer = setTimeout(async () => {
    // A refused upgrade looks like a drop: ask the API whether the session still exists.
    if (!wasOpen) {
      try {
        const { status } = await api("GET", "/api/me");
        if (status !== 200) {
          scheduleReconnect(false);
          return;
        }
      } catch (error) {
        if (error instanceof SessionLost) return;
      }
    }
    if (desk.agent) connectSocket();
  }, delay);
}

function stopSocket() {
  clearTimeout(desk.reconnectTimer);
  clearInterval(desk.pingTimer);
  const socket = desk.socket;
  desk.socket = null;
  if (socket) socket.close();
}

function onSocketMessage(message) {
  // Other panels (duty.js) hear every pushed message too.
  document.dispatchEvent(new CustomEvent("hotline:message", { detail: message }));
  switch (message.type) {
    case "hello":
      showState(message.state);
      resyncCall();
      break;
    case "agent.state":
      if (desk.agent && message.agent_id === desk.agent.id) {
        desk.statePushes += 1;
        showState(message.state);
        // A pause set by the shift lead (or the system) says why.
        if (message.state === "paused" && message.reason) $("state-note").textContent = `示忙原因：${message.reason}`;
      }
      break;
    case "call.offered":
    case "call.connected":
    case "call.ended":
    case "call.missed":
      onCallMessage(message.type, message);
      break;
    case "call.transferred":
    case "call.consulting":
    case "call.transfer_failed":
      onTransferMessage(message);
      break;
    case "call.held":
      if (desk.call && desk.call.id === message.call_id) {
        desk.call = { ...desk.call, held: message.held ? message.by : null };
        renderCall();
      }
      break;
    case "phone.registered":
      $("phone-status").textContent = message.expires > 0 ? "话机：已注册" : "话机：已注销（无法接听来电）";
      $("phone-status").dataset.registered = String(message.expires > 0);
      break;
    default:
      break; // pong and anything newer
  }
}

async function resyncCall() {
  // After a reconnect, a call that ended meanwhile must not stay "通话中" on screen.
  let result;
  const pushed = desk.statePushes;
  try {
    result = await api("GET", "/api/me");
  } catch {
    return;
  }
  if (result.status !== 200) return;
  // The socket is open by now, so any change after this answer was read (示闲 clicked at
  // once) arrives as a push; a push seen meanwhile is newer than the answer.
  const fresh = desk.statePushes === pushed;
  const live = result.data.call;
  const shown = desk.call;
  if (!live && shown && (shown.phase === "offered" || shown.phase === "connected")) {
    desk.call = { ...shown, phase: shown.phase === "connected" ? "ended" : "missed", endedAt: Date.now(), reason: "" };
    renderCall();
  }
  if (fresh) showState(result.data.status.state, result.data.status.after_call);
  document.body.dataset.resynced = String(Number(document.body.dataset.resynced || 0) + 1);
}

// ---------------------------------------------------------------------------- login

async function enterDesk() {
  let result;
  try {
    result = await api("GET", "/api/me");
  } catch {
    return false;
  }
  if (result.status !== 200) return false;
  const me = result.data;
  // A shift lead lands on the wallboard; /?desk opens the agent desk instead.
  if (me.agent.role === "lead" && !new URLSearchParams(location.search).has("desk")) {
    location.replace("/wallboard");
    return true;
  }
  desk.agent = me.agent;
  desk.hotlines = me.hotlines || [];
  $("agent-name").textContent = me.agent.name;
  $("agent-id").textContent = `工号 ${me.agent.id}${me.agent.role === "lead" ? " · 班长" : ""}`;
  $("ticket-hotline").replaceChildren(...desk.hotlines.map((h) => new Option(h, h)));
  showState(me.status.state, me.status.after_call);

  const departments = await api("GET", "/api/departments");
  const select = $("ticket-department");
  select.replaceChildren(new Option("请选择承办部门", ""));
  for (const department of departments.data.departments || []) {
    select.append(new Option(department.name, department.code));
  }
  setupAssist(api, Object.fromEntries((departments.data.departments || []).map((d) => [d.code, d.name])));
  resetForm();
  await setupTransfer(api, () => desk.call);
  if (me.call) {
    onCallMessage(me.call.state === "connected" ? "call.connected" : "call.offered", {
      call_id: me.call.call_id, caller: me.call.caller, hotline: me.call.hotline,
    });
  } else {
    renderCall();
  }

  $("boot").hidden = true;
  $("login-view").hidden = true;
  $("desk-view").hidden = false;
  connectSocket();
  (desk.state === "logged_out" || desk.state === "paused" ? $("btn-ready") : $("ticket-name")).focus();
  return true;
}

async function login(event) {
  event.preventDefault();
  const agentId = $("login-agent").value.trim();
  const password = $("login-password").value;
  const error = $("login-error");
  if (!agentId || !password) {
    error.textContent = "请输入坐席工号和密码";
    error.hidden = false;
    (agentId ? $("login-password") : $("login-agent")).focus();
    return;
  }
  $("login-submit").disabled = true;
  error.hidden = true;
  try {
    const { status, data } = await api("POST", "/api/login", { agent_id: agentId, password });
    if (status !== 200) {
      error.textContent = status === 401 ? "工号或密码错误"
        : status === 0 ? data.message : (data.message || `登录失败（${status}）`);
      error.hidden = false;
      $("login-password").select();
      $("login-password").focus();
      return;
    }
    $("login-password").value = "";
    if (!(await enterDesk())) showLogin("登录失败，请重试");
  } finally {
    $("login-submit").disabled = false;
  }
}

async function signOut() {
  const agent = desk.agent;
  stopSocket();
  desk.agent = null;
  if (agent) {
    try {
      await fetch("/api/logout", { method: "POST", credentials: "same-origin" });
    } catch {
      /* the reload below shows the login form either way */
    }
  }
  location.reload();
}

// ---------------------------------------------------------------------------- wiring

function onFormKeydown(event) {
  // Enter in a one-line field moves on instead of saving a half-written ticket.
  const target = event.target;
  if (event.key !== "Enter" || event.ctrlKey || event.metaKey || event.isComposing) return;
  if (target.tagName !== "INPUT" && target.tagName !== "SELECT") return;
  event.preventDefault();
  const fields = [...$("ticket-form").querySelectorAll("input, select, textarea, button[type=submit]")]
    .filter((element) => !element.disabled && element.offsetParent !== null);
  const next = fields[fields.indexOf(target) + 1];
  if (next) next.focus();
}

function onGlobalKeydown(event) {
  if (!desk.agent || $("desk-view").hidden) return;
  const key = event.key.toLowerCase();
  if ((event.ctrlKey || event.metaKey) && key === "s") {
    event.preventDefault();
    saveTicket();
  } else if (event.altKey && ["1", "2", "3"].includes(event.key)) {
    const suggestion = desk.suggestions[Number(event.key) - 1];
    if (suggestion) {
      event.preventDefault();
      chooseDepartment(suggestion.code);
    }
  }
}

function start() {
  $("login-form").addEventListener("submit", login);
  $("btn-ready").addEventListener("click", () => requestState("ready"));
  // desk.js asks for the reason from the configured list before pausing.
  $("btn-paused").addEventListener("click", () => document.dispatchEvent(new CustomEvent("hotline:pick-pause")));
  $("btn-logout").addEventListener("click", () => requestState("logged_out"));
  $("btn-signout").addEventListener("click", signOut);
  $("ticket-form").addEventListener("submit", (event) => {
    event.preventDefault();
    saveTicket();
  });
  $("ticket-form").addEventListener("keydown", onFormKeydown);
  $("ticket-clear").addEventListener("click", () => {
    $("ticket-saved").textContent = "";
    resetForm();
    $("ticket-name").focus();
  });
  $("ticket-unlink").addEventListener("click", unlinkCall);
  $("ticket-emergency").addEventListener("change", () => {
    desk.emergencyTouched = true;
    $("emergency-reason").textContent = "";
    renderEmergency();
  });
  $("btn-emergency").addEventListener("click", emergencyTransfer);
  document.addEventListener("hotline:complete-draft", (event) => {
    resetForm();
    unlinkCall();
    desk.draft = event.detail.number;
    const hotline = event.detail.hotline;
    if (desk.hotlines.includes(hotline)) $("ticket-hotline").value = hotline;
    $("ticket-phone").placeholder = `留言号码 ${event.detail.phone}（不改可留空）`;
    showNotice(`正在补全语音留言 ${event.detail.number}：回听录音后填写，保存即转派。`);
    $("ticket-description").focus();
  });
  $("call-link").addEventListener("click", () => {
    if (desk.call) linkCall(desk.call);
  });
  $("ticket-description").addEventListener("input", scheduleClassify);
  $("ticket-department").addEventListener("change", () => {
    desk.departmentTouched = true;
    $("department-auto").hidden = true;
    clearFieldError("department_code");
    markChosen();
  });
  $("ticket-urgent").addEventListener("change", () => {
    desk.urgentTouched = true;
    $("urgent-reason").textContent = "";
  });
  for (const name of ["caller_name", "phone", "address", "description", "hotline"]) {
    document.querySelector(`#ticket-form [name="${name}"]`)
      .addEventListener("input", () => clearFieldError(name));
  }
  document.addEventListener("keydown", onGlobalKeydown);
  window.addEventListener("unhandledrejection", (event) => {
    if (event.reason instanceof SessionLost) event.preventDefault();
  });

  // An existing session cookie goes straight to the desk.
  enterDesk().then((entered) => {
    if (!entered) showLogin();
  });
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
