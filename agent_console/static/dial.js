// 回拨 (click-to-call) on the 回访 task and on the callback task the agent holds: the press
// asks the server to ring this agent's phone, then the citizen; the states come back as
// dial.state messages over the websocket. While it rings (the agent's phone or the citizen)
// 取消 stops it. Self-contained, like duty.js and cases.js.

const $ = (id) => document.getElementById(id);

const STATES = {
  "calling-agent": "呼叫坐席话机…",
  "calling-citizen": "呼叫市民…",
  connected: "通话中",
  ended: "通话结束，请记录结果",
  unreached: "未接通（已记录）",
  "agent-unreached": "坐席话机未接听，可再次回拨",
  cancelled: "已挂断，可再次回拨",
};
// A missed call's outcome is recorded by the server itself (a talk closes the entry).
const CALLBACK_STATES = {
  ended: "通话结束，已记为已回拨",
  unreached: "未接通，已记录，可稍后再拨",
};
const RINGING = ["calling-agent", "calling-citizen"];
const PLACES = {
  visit: { button: "visit-dial", state: "visit-dial-state", task: "visit-task", cancel: "visit-cancel" },
  callback: {
    button: "callback-dial", state: "callback-dial-state", task: "callback-task", cancel: "callback-cancel",
  },
};
// The dial in progress per task kind: what 取消 stops; the dials whose progress has been
// pushed already (the 202 may come after it and must not draw an older state).
const dials = {};
const pushed = new Set();

function label(kind, state) {
  return (kind === "callback" && CALLBACK_STATES[state]) || STATES[state] || state;
}

function ringing(kind, dialId, state) {
  const cancel = $(PLACES[kind].cancel);
  if (RINGING.includes(state)) {
    dials[kind] = dialId;
    cancel.hidden = false;
    cancel.disabled = false;
  } else {
    cancel.hidden = true;
    if (state !== "connected") delete dials[kind];
  }
}

async function post(path) {
  try {
    const response = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: "{}",
    });
    let data = {};
    try { data = await response.json(); } catch { /* not JSON */ }
    return { status: response.status, data };
  } catch {
    return { status: 0, data: { message: "无法连接服务器" } };
  }
}

async function dial(kind) {
  const place = PLACES[kind];
  const path = kind === "visit"
    ? `/api/tickets/${encodeURIComponent($("visit-ticket").textContent)}/visit/dial`
    : `/api/callbacks/${encodeURIComponent($("callback-task").dataset.callId || "")}/dial`;
  $(place.button).disabled = true;
  const result = await post(path);
  if (result.status === 202) {
    if (!pushed.has(result.data.dial_id)) {
      $(place.state).textContent = label(kind, result.data.state);
      ringing(kind, result.data.dial_id, result.data.state);
    }
  } else {
    $(place.state).textContent = result.data.message || "回拨失败";
    $(place.button).disabled = false;
  }
}

async function cancel(kind) {
  const dialId = dials[kind];
  if (!dialId) return;
  const place = PLACES[kind];
  $(place.cancel).disabled = true;
  const result = await post(`/api/dials/${encodeURIComponent(dialId)}/cancel`);
  if (result.status === 202) {
    // Unless its end was pushed while the request was on its way.
    if (dials[kind] === dialId) $(place.state).textContent = "正在取消…";
  } else {
    $(place.state).textContent = result.data.message || "取消失败";
    $(place.cancel).disabled = false;
  }
}

function show(message) {
  const place = PLACES[message.task];
  if (!place) return;
  pushed.add(message.dial_id);
  $(place.state).textContent = label(message.task, message.state);
  ringing(message.task, message.dial_id, message.state);
  const over = !["calling-agent", "calling-citizen", "connected"].includes(message.state);
  $(place.button).disabled = !over;
  if (message.state === "unreached" && message.task === "visit") {
    // The server recorded 未接通 and ended the 回访 (a missed call stays for a retry).
    $(place.task).hidden = true;
    const result = message.task === "visit" ? $("visit-result") : null;
    if (result) result.textContent = `工单 ${message.ref} 回访未接通，已记录`;
  }
}

document.addEventListener("hotline:message", (event) => {
  const message = event.detail;
  if (message.type === "dial.state") show(message);
  else if (message.type === "visit.offered") {
    $("visit-dial").disabled = false;
    $("visit-dial-state").textContent = "";
  } else if (message.type === "callback.offered") {
    $("callback-dial").disabled = false;
    $("callback-dial-state").textContent = "";
  }
});
$("visit-dial").addEventListener("click", () => dial("visit"));
$("callback-dial").addEventListener("click", () => dial("callback"));
$("visit-cancel").addEventListener("click", () => cancel("visit"));
$("callback-cancel").addEventListener("click", () => cancel("callback"));
