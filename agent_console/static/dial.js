// 回拨 (click-to-call) on the 回访 task and on the callback task the agent holds: the press
// asks the server to ring this agent's phone, then the citizen; the states come back as
// dial.state messages over the websocket. Self-contained, like duty.js and cases.js.

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
const PLACES = {
  visit: { button: "visit-dial", state: "visit-dial-state", task: "visit-task" },
  callback: { button: "callback-dial", state: "callback-dial-state", task: "callback-task" },
};

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
    $(place.state).textContent = STATES[result.data.state] || result.data.state;
  } else {
    $(place.state).textContent = result.data.message || "回拨失败";
    $(place.button).disabled = false;
  }
}

function show(message) {
  const place = PLACES[message.task];
  if (!place) return;
  $(place.state).textContent = STATES[message.state] || message.state;
  const over = !["calling-agent", "calling-citizen", "connected"].includes(message.state);
  $(place.button).disabled = !over;
  if (message.state === "unreached") {
    // The server recorded 未接通 and ended the task.
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
