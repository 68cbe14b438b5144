// The agent's desk controls: 示忙 with a reason from the configured list (number keys pick),
// the call buttons (保持/恢复, 静音, 挂断) acting on the real call, the wrap-up countdown with
// 延长 and 立即示闲, and the phone's registration shown from login. Self-contained: it
// follows the websocket messages console.js re-publishes as "hotline:message".

const $ = (id) => document.getElementById(id);

const state = { agentId: null, callId: null, held: false, muted: false, wrapUpUntil: null, reasons: [], timer: null };

async function post(path, body = {}) {
  try {
    const response = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    let data = {};
    try { data = await response.json(); } catch { /* not JSON */ }
    return { status: response.status, data };
  } catch {
    return { status: 0, data: { message: "无法连接服务器" } };
  }
}

function say(text) {
  $("desk-status").textContent = text;
}

// ------------------------------------------------------------------ pause reasons

async function loadReasons() {
  try {
    const response = await fetch("/api/me", { credentials: "same-origin" });
    if (response.ok) state.reasons = (await response.json()).pause_reasons || [];
  } catch { /* keep the last list */ }
  const list = $("pause-reasons");
  list.replaceChildren(...state.reasons.slice(0, 9).map((reason, index) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "quiet small-btn";
    button.dataset.testid = "pause-reason";
    button.innerHTML = `<kbd>${index + 1}</kbd> `;
    button.append(reason);
    button.addEventListener("click", () => pause(reason));
    return button;
  }));
}

function openPicker() {
  if (!state.reasons.length) {
    pause("");
    return;
  }
  $("pause-picker").hidden = false;
  $("pause-reasons").querySelector("button")?.focus();
}

function closePicker() {
  $("pause-picker").hidden = true;
}

async function pause(reason) {
  closePicker();
  const { status, data } = await post(`/api/agents/${encodeURIComponent(state.agentId)}/state`, { state: "paused", reason });
  say(status === 200 ? `已示忙：${reason || "未填原因"}` : `示忙失败：${data.message || status}`);
}

function onPickerKey(event) {
  if ($("pause-picker").hidden) return;
  if (event.key === "Escape") {
    closePicker();
    $("btn-paused").focus();
  } else if (/^[1-9]$/.test(event.key) && !event.ctrlKey && !event.altKey && !event.metaKey) {
    const reason = state.reasons[Number(event.key) - 1];
    if (reason) {
      event.preventDefault();
      event.stopPropagation();
      pause(reason);
    }
  }
}

// ------------------------------------------------------------------ call buttons

function renderControls() {
  $("call-controls").hidden = !state.callId;
  $("btn-hold").textContent = state.held ? "恢复" : "保持";
  $("btn-hold").setAttribute("aria-pressed", String(state.held));
  $("btn-mute").textContent = state.muted ? "取消静音" : "静音";
  $("btn-mute").setAttribute("aria-pressed", String(state.muted));
}

const MONITOR_MODES = { listen: "监听", whisper: "密语", barge: "强插" };

function showMonitor(message) {
  const on = message && message.state === "connected";
  $("call-monitor").hidden = !on;
  $("call-monitor").dataset.mode = on ? message.mode : "";
  $("call-monitor").textContent = on
    ? `值班长 ${message.lead_id} 正在${MONITOR_MODES[message.mode] || message.mode}本通话`
    : "";
}

async function act(action) {
  if (!state.callId) return;
  const { status, data } = await post(`/api/calls/${encodeURIComponent(state.callId)}/${action}`);
  if (status !== 200) {
    say(`操作失败：${data.message || status}`);
    return;
  }
  if (action === "mute" || action === "unmute") state.muted = action === "mute";
  if (action === "hold" || action === "resume") state.held = action === "hold";
  say({ hold: "已保持，来电方听等待音乐", resume: "已恢复通话", mute: "已静音，来电方听不到您", unmute: "已取消静音", hangup: "已挂断" }[action]);
  renderControls();
}

// ------------------------------------------------------------------ wrap-up countdown

function renderWrapUp() {
  const box = $("wrapup-box");
  if (!state.wrapUpUntil) {
    box.hidden = true;
    clearInterval(state.timer);
    state.timer = null;
    return;
  }
  box.hidden = false;
  const left = Math.max(0, Math.ceil((state.wrapUpUntil - Date.now()) / 1000));
  $("wrapup-countdown").textContent = `话后处理 剩余 ${left} 秒`;
  if (!state.timer) state.timer = setInterval(renderWrapUp, 500);
}

function showWrapUp(message) {
  state.wrapUpUntil = message.state === "wrap_up" && message.wrap_up_until ? Date.parse(message.wrap_up_until) : null;
  renderWrapUp();
}

async function extend() {
  const { status, data } = await post(`/api/agents/${encodeURIComponent(state.agentId)}/wrap-up/extend`);
  if (status === 200) {
    state.wrapUpUntil = Date.parse(data.wrap_up_until);
    renderWrapUp();
    say("已延长话后处理");
  } else {
    say(data.error_id === "wrap-up-at-limit" ? "话后处理已到最长时间" : `延长失败：${data.message || status}`);
  }
}

async function readyNow() {
  const { status, data } = await post(`/api/agents/${encodeURIComponent(state.agentId)}/state`, { state: "ready" });
  say(status === 200 ? "已示闲" : `示闲失败：${data.message || status}`);
}

// ------------------------------------------------------------------ phone registration

function showPhone(phone) {
  if (!phone) return;
  $("phone-status").textContent = phone.registered ? "话机：已注册" : "话机：未注册（无法接听来电）";
  $("phone-status").dataset.registered = String(Boolean(phone.registered));
}

// ------------------------------------------------------------------ messages

function onMessage(event) {
  const message = event.detail;
  switch (message.type) {
    case "hello":
      state.agentId = message.agent.id;
      showPhone(message.phone);
      showWrapUp(message);
      loadReasons();
      break;
    case "agent.state":
      if (message.agent_id === state.agentId) showWrapUp(message);
      break;
    case "call.connected":
      if (state.callId !== message.call_id) {
        state.callId = message.call_id;
        state.held = state.muted = false;
      }
      renderControls();
      break;
    case "call.ended":
    case "call.missed":
    case "call.transferred":
      if (message.call_id === state.callId && (message.type !== "call.transferred" || message.mode === "blind")) {
        state.callId = null;
        showMonitor(null);
        renderControls();
      }
      break;
    case "call.held":
      if (message.call_id === state.callId && message.by === "agent") {
        state.held = message.held;
        renderControls();
      }
      break;
    case "call.monitor":
      // Sent to the agent only where the centre's policy shows supervision to agents.
      if (message.call_id === state.callId || !state.callId) showMonitor(message);
      break;
    case "call.muted":
      if (message.call_id === state.callId) {
        state.muted = message.muted;
        renderControls();
      }
      break;
    default:
      break;
  }
}

document.addEventListener("hotline:message", onMessage);
document.addEventListener("hotline:pick-pause", openPicker);
document.addEventListener("keydown", onPickerKey, true);
$("btn-hold").addEventListener("click", () => act(state.held ? "resume" : "hold"));
$("btn-mute").addEventListener("click", () => act(state.muted ? "unmute" : "mute"));
$("btn-hangup").addEventListener("click", () => act("hangup"));
$("wrapup-extend").addEventListener("click", extend);
$("wrapup-ready").addEventListener("click", readyNow);
$("pause-cancel").addEventListener("click", closePicker);
