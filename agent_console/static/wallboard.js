// The shift lead's wallboard: a snapshot on connect, then `wallboard.*` updates pushed over
// the websocket (no polling). Durations count on from the server's timestamps every second.
// Plain ES2020 module, no framework, no build step.

import { requestJson } from "./http.js";

const STATE_LABELS = {
  logged_out: "未签入", ready: "空闲", offered: "振铃", talking: "通话中",
  wrap_up: "话后处理", paused: "示忙",
};
const CALL_STATES = {
  queued: "排队", offered: "振铃", connected: "通话", callback: "预约回拨", transferred: "已转接",
};
const $ = (id) => document.getElementById(id);

const board = {
  me: null,
  pauseReasons: [],
  offset: 0, // server clock − this clock, ms
  queues: [],
  agents: new Map(),
  calls: [],
  alerts: new Map(),
  rules: { wait_seconds: 15 },
  synced: false,
  socket: null,
  reconnectDelay: 1000,
  sound: true,
  audio: null,
  controlled: null, // the agent id the control dialog acts on
};

const now = () => Date.now() + board.offset;
const since = (iso) => (iso ? now() - Date.parse(iso) : 0);

function duration(ms) {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const mm = String(Math.floor(seconds / 60) % 60).padStart(2, "0");
  const ss = String(seconds % 60).padStart(2, "0");
  return seconds >= 3600 ? `${Math.floor(seconds / 3600)}:${mm}:${ss}` : `${mm}:${ss}`;
}

function percent(value) {
  return value === null || value === undefined ? "—" : `${(value * 100).toFixed(1)}%`;
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  node.append(...children);
  return node;
}

// ---------------------------------------------------------------------------- API

async function api(method, path, body) {
  const answer = await requestJson(method, path, body);
  if (answer.status === 401) location.assign("/");
  return answer;
}

// ---------------------------------------------------------------------------- sound

function beep() {
  // Web Audio: two short tones. Browsers start audio only after a click or key on the page.
  if (!board.sound) return;
  try {
    board.audio = board.audio || new AudioContext();
    const context = board.audio;
    for (const [offset, frequency] of [[0, 880], [0.25, 660]]) {
      const oscillator = context.createOscillator();
      const gain = context.createGain();
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.25, context.currentTime + offset);
      gain.gain.exponentialRampToValueAtTime(0.001, context.currentTime + offset + 0.2);
      oscillator.connect(gain).connect(context.destination);
      oscillator.start(context.currentTime + offset);
      oscillator.stop(context.currentTime + offset + 0.22);
    }
    document.body.dataset.beeps = String(Number(document.body.dataset.beeps || 0) + 1);
  } catch {
    /* no audio device: the list still shows the alert */
  }
}

// ---------------------------------------------------------------------------- rendering

function renderQueues() {
  const tiles = board.queues.map((queue) => {
    const waitMs = queue.oldest_since ? since(queue.oldest_since) : 0;
    const tile = element(
      "article",
      {
        className: "queue",
        "data-testid": "queue",
        "data-queue": queue.queue,
        "data-waiting-long": String(waitMs >= board.rules.wait_seconds * 1000),
        "data-unattended": String(queue.on_duty === 0),
      },
      element("h3", {}, `${queue.queue} 热线`),
      element("div", {}, element("span", { className: "label" }, "排队"),
        element("span", { className: "big", "data-testid": "queue-waiting" }, String(queue.waiting))),
      element("div", {}, element("span", { className: "label" }, "最长等待"),
        element("span", { className: "big", "data-testid": "queue-longest" }, queue.oldest_since ? duration(waitMs) : "—")),
      element(
        "div",
        { className: "figures" },
        element("span", { "data-testid": "queue-today" },
          "今日 接通 ", element("b", {}, String(queue.today.answered)),
          " · 放弃 ", element("b", {}, String(queue.today.abandoned)),
          " · 服务水平 ", element("b", {}, percent(queue.today.service_level)),
          " · 15秒接通率 ", element("b", {}, percent(queue.today.answer_rate_in_time))),
        element("br"),
        element("span", { "data-testid": "queue-hour" },
          "近1小时 接通 ", element("b", {}, String(queue.last_hour.answered)),
          " · 放弃 ", element("b", {}, String(queue.last_hour.abandoned)),
          " · 服务水平 ", element("b", {}, percent(queue.last_hour.service_level)),
          " · 15秒接通率 ", element("b", {}, percent(queue.last_hour.answer_rate_in_time))),
        element("br"),
        element("span", { className: "muted" },
          `签入 ${queue.on_duty} · 空闲 ${queue.ready} · 忙 ${queue.busy}`),
      ),
    );
    return tile;
  });
  $("queues").replaceChildren(...tiles);
}

function agentDetail(agent) {
  if (agent.state === "paused") return agent.reason ? `原因：${agent.reason}` : "示忙";
  if (agent.call_connected_at) return `${agent.hotline} 通话 ${duration(since(agent.call_connected_at))}`;
  if (agent.state === "offered") return agent.hotline ? `${agent.hotline} 振铃中` : "振铃中";
  return "";
}

function renderAgents() {
  const agents = [...board.agents.values()].sort((a, b) =>
    (a.state === "logged_out") - (b.state === "logged_out") || a.agent_id.localeCompare(b.agent_id));
  const items = agents.map((agent) =>
    element(
      "li",
      {
        className: "agent",
        tabIndex: 0,
        "data-testid": "agent",
        "data-agent": agent.agent_id,
        "data-state": agent.state,
        title: "点击：强制示闲 / 示忙 / 签出",
      },
      element("span", { className: "time" }, agent.since && agent.state !== "logged_out" ? duration(since(agent.since)) : ""),
      element("span", { className: "name" }, `${agent.name} `),
      element("span", { className: "muted small" }, agent.agent_id),
      element("br"),
      element("span", { className: "state", "data-testid": "agent-state" }, STATE_LABELS[agent.state] || agent.state),
      element("div", { className: "detail", "data-testid": "agent-detail" }, agentDetail(agent)),
    ));
  $("agents").replaceChildren(...items);
  const counts = {};
  for (const agent of agents) counts[agent.state] = (counts[agent.state] || 0) + 1;
  $("agent-counts").textContent = ["talking", "ready", "paused", "wrap_up"]
    .filter((s) => counts[s]).map((s) => `${STATE_LABELS[s]} ${counts[s]}`).join(" · ");
}

const MONITOR_MODES = { listen: "监听", whisper: "密语", barge: "强插" };

function monitorButtons(call) {
  if (call.state !== "connected") return [];
  const mine = Boolean(call.monitor && board.me && call.monitor.lead_id === board.me.id);
  const buttons = Object.entries(MONITOR_MODES).map(([mode, label]) => {
    const button = element("button", {
      type: "button", className: "monitor-btn", textContent: label,
      "data-testid": `monitor-${mode}`,
    });
    const active = mine && call.monitor.mode === mode;
    button.setAttribute("aria-pressed", String(active));
    button.addEventListener("click", () => monitor(call.call_id, mode));
    return button;
  });
  if (mine) {
    const leave = element("button", { type: "button", className: "monitor-btn", textContent: "退出" });
    leave.dataset.testid = "monitor-leave";
    leave.addEventListener("click", () => leaveMonitor(call.call_id));
    buttons.push(leave);
  }
  return buttons;
}

function monitorLabel(call) {
  if (!call.monitor) return "";
  const mode = MONITOR_MODES[call.monitor.mode] || call.monitor.mode;
  return call.monitor.state === "ringing"
    ? `${call.monitor.lead_id} ${mode}（话机振铃）`
    : `${call.monitor.lead_id} ${mode}中`;
}

async function monitor(callId, mode) {
  const { status, data } = await api("POST", `/api/calls/${encodeURIComponent(callId)}/monitor`, { mode });
  if (status !== 202) showBanner(`${MONITOR_MODES[mode]}失败：${data.message || status}`);
  else showBanner(data.state === "ringing" ? `正在呼叫您的话机（${MONITOR_MODES[mode]}）…` : "");
}

async function leaveMonitor(callId) {
  const { status, data } = await api("DELETE", `/api/calls/${encodeURIComponent(callId)}/monitor`);
  if (status !== 200) showBanner(`退出失败：${data.message || status}`);
}

function renderCalls() {
  const items = board.calls.map((call) =>
    element(
      "li",
      { className: "call", "data-testid": "call", "data-state": call.state, "data-call": call.call_id },
      element("span", { className: "what" }, CALL_STATES[call.state] || call.state),
      element("span", {}, call.hotline),
      element("span", { className: "muted" }, call.caller),
      element("span", {}, call.agent_id ? `坐席 ${call.agent_id}` : ""),
      element("span", { className: "monitor", "data-testid": "call-monitor" }, monitorLabel(call)),
      element("span", { className: "elapsed" },
        duration(since(call.connected_at || call.arrived_at))),
      ...monitorButtons(call),
    ));
  $("calls").replaceChildren(...(items.length ? items : [element("li", { className: "empty" }, "暂无")]));
  $("call-count").textContent = items.length ? String(items.length) : "";
}

function renderAlerts() {
  const alerts = [...board.alerts.values()].sort((a, b) =>
    Boolean(a.acked_at) - Boolean(b.acked_at) || b.id - a.id);
  const items = alerts.map((alert) => {
    const item = element(
      "li",
      { className: "alert", "data-testid": "alert", "data-kind": alert.kind, "data-acked": String(Boolean(alert.acked_at)) },
      element("span", { className: "when" }, new Date(alert.raised_at).toLocaleTimeString("zh-CN", { hour12: false })),
      element("span", { className: "kind" }, alert.label),
      element("div", {}, alert.text),
    );
    if (alert.acked_at) {
      item.append(element("div", { className: "muted small" }, `已确认（${alert.acked_by}）`));
    } else {
      const button = element("button", { type: "button", "data-testid": "alert-ack" }, "确认");
      button.addEventListener("click", () => acknowledge(alert.id, button));
      item.append(button);
    }
    return item;
  });
  $("alerts").replaceChildren(...(items.length ? items : [element("li", { className: "empty" }, "暂无告警")]));
  const open = alerts.filter((a) => !a.acked_at).length;
  $("alert-count").textContent = open ? String(open) : "";
}

function renderAll() {
  renderQueues();
  renderAgents();
  renderCalls();
  renderAlerts();
}

function tick() {
  $("clock").textContent = new Date(now()).toLocaleTimeString("zh-CN", { hour12: false });
  if (!board.synced) return;
  // Only the counting texts change; the elements (and the keyboard focus) stay.
  for (const tile of document.querySelectorAll(".queue")) {
    const queue = board.queues.find((q) => q.queue === tile.dataset.queue);
    if (!queue || !queue.oldest_since) continue;
    const waitMs = since(queue.oldest_since);
    tile.querySelector("[data-testid=queue-longest]").textContent = duration(waitMs);
    tile.dataset.waitingLong = String(waitMs >= board.rules.wait_seconds * 1000);
  }
  for (const item of document.querySelectorAll(".agent")) {
    const agent = board.agents.get(item.dataset.agent);
    if (!agent) continue;
    if (agent.since && agent.state !== "logged_out") item.querySelector(".time").textContent = duration(since(agent.since));
    item.querySelector(".detail").textContent = agentDetail(agent);
  }
  renderCalls();
}

// ---------------------------------------------------------------------------- actions

async function acknowledge(alertId, button) {
  button.disabled = true;
  const { status, data } = await api("POST", `/api/alerts/${alertId}/ack`, { note: "" });
  if (status !== 200 && status !== 409) {
    button.disabled = false;
    showBanner(`确认失败：${data.message || status}`);
    return;
  }
  if (status === 200) board.alerts.set(data.id, data);
  renderAlerts();
}

function openControl(agentId) {
  const agent = board.agents.get(agentId);
  if (!agent) return;
  board.controlled = agentId;
  $("control-agent").textContent = `${agent.name}（${agent.agent_id}）`;
  $("control-state").textContent = `当前：${STATE_LABELS[agent.state] || agent.state}${agent.reason ? `，${agent.reason}` : ""}`;
  $("control-result").textContent = "";
  $("control-note").value = "";
  $("control").showModal();
  $("control-reason").focus();
}

async function forceState(state) {
  const agentId = board.controlled;
  if (!agentId) return;
  const reason = state === "paused" ? $("control-reason").value : $("control-note").value.trim();
  const { status, data } = await api("POST", `/api/agents/${encodeURIComponent(agentId)}/state`, { state, reason });
  const result = $("control-result");
  if (status === 200) {
    const later = data.after_call ? `（通话结束后${STATE_LABELS[data.after_call] || data.after_call}）` : "";
    result.textContent = `已设置 ${agentId} 为${STATE_LABELS[data.state] || data.state}${later}`;
  } else {
    result.textContent = `操作失败：${data.message || status}`;
  }
}

function showBanner(text) {
  $("banner").textContent = text;
  $("banner").hidden = !text;
}

// ---------------------------------------------------------------------------- websocket

function onMessage(message) {
  switch (message.type) {
    case "wallboard":
      board.offset = Date.parse(message.at) - Date.now();
      board.queues = message.queues;
      board.agents = new Map(message.agents.map((a) => [a.agent_id, a]));
      board.calls = message.calls;
      board.alerts = new Map(message.alerts.map((a) => [a.id, a]));
      board.rules = message.rules || board.rules;
      board.synced = true;
      document.body.dataset.synced = "true";
      if (message.alerts.some((a) => !a.acked_at)) beep();
      renderAll();
      break;
    case "wallboard.queues":
      if (!board.synced) return; // the snapshot that follows is newer
      board.queues = message.queues;
      renderQueues();
      break;
    case "wallboard.agents":
      if (!board.synced) return;
      for (const agent of message.agents) board.agents.set(agent.agent_id, agent);
      renderAgents();
      break;
    case "wallboard.call": {
      // Only what changed: entries to add or replace, ids of calls that ended.
      if (!board.synced) return;
      const calls = new Map(board.calls.map((c) => [c.call_id, c]));
      for (const call of message.calls) calls.set(call.call_id, call);
      for (const callId of message.removed) calls.delete(callId);
      board.calls = [...calls.values()].sort(
        (a, b) => Date.parse(a.arrived_at) - Date.parse(b.arrived_at));
      renderCalls();
      break;
    }
    case "wallboard.alert": {
      if (!board.synced) return;
      const alert = message.alert;
      if (alert.cleared_at) {
        board.alerts.delete(alert.id);
      } else {
        const known = board.alerts.has(alert.id);
        board.alerts.set(alert.id, alert);
        if (!known && !alert.acked_at) beep();
      }
      renderAlerts();
      break;
    }
    default:
      break; // hello, agent.state, case.* …: the desk's business
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws`);
  board.socket = socket;
  socket.addEventListener("open", () => {
    document.body.dataset.socket = "open";
    $("link-state").textContent = "实时";
    board.reconnectDelay = 1000;
    showBanner("");
  });
  socket.addEventListener("message", (event) => {
    try {
      onMessage(JSON.parse(event.data));
    } catch {
      /* not ours */
    }
  });
  socket.addEventListener("close", (event) => {
    document.body.dataset.socket = "closed";
    $("link-state").textContent = "已断开";
    board.synced = false;
    if (event.code === 1008) {
      location.assign("/");
      return;
    }
    const delay = board.reconnectDelay;
    board.reconnectDelay = Math.min(delay * 2, 30000);
    showBanner(`实时连接已断开，${Math.ceil(delay / 1000)} 秒后重连…`);
    setTimeout(connect, delay);
  });
}

async function start() {
  const { status, data } = await api("GET", "/api/me");
  if (status !== 200) return; // 401 goes to the login page
  if (data.agent.role !== "lead") {
    showBanner("看板仅供值班长使用。");
    return;
  }
  board.me = data.agent;
  board.pauseReasons = data.pause_reasons || [];
  $("lead-name").textContent = `${data.agent.name}（${data.agent.id}）`;
  $("control-reason").replaceChildren(...board.pauseReasons.map((r) => new Option(r, r)));
  $("agents").addEventListener("click", (event) => {
    const item = event.target.closest(".agent");
    if (item) openControl(item.dataset.agent);
  });
  $("agents").addEventListener("keydown", (event) => {
    const item = event.target.closest(".agent");
    if (item && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      openControl(item.dataset.agent);
    }
  });
  for (const button of document.querySelectorAll(".control-actions [data-state]")) {
    button.addEventListener("click", () => forceState(button.dataset.state));
  }
  $("sound").addEventListener("click", () => {
    board.sound = !board.sound;
    $("sound").textContent = board.sound ? "提示音：开" : "提示音：关";
    $("sound").setAttribute("aria-pressed", String(board.sound));
    if (board.sound) beep();
  });
  setInterval(tick, 1000);
  tick();
  connect();
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
