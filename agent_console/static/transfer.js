// Transfer panel of the call card: hand the caller to a department (转接), bring the
// department in while staying on the line (三方通话), or consult it first while the caller
// hears music (咨询转接), then hand over (转接) or take the caller back (取回). The server
// checks who may do it.

const ERRORS = {
  "unknown-call": "该通话已结束",
  "not-connected": "通话尚未接通，无法转接",
  "unknown-target": "转接号码不在目录中",
  "transfer-in-progress": "正在转接中，请稍候",
  forbidden: "只有接听该来电的坐席或班长可以转接",
  "no-outbound-proxy": "系统未配置外呼线路，无法转接",
  "no-consultation": "当前没有咨询中的转接",
  "consultation-ringing": "对方尚未接听，可先取回",
};
const START_BUTTONS = ["btn-transfer-blind", "btn-transfer-three", "btn-transfer-consult"];

const $ = (id) => document.getElementById(id);
let api = null;
let currentCall = () => null;

function status(text) {
  $("transfer-status").textContent = text;
}

async function transfer(mode) {
  const call = currentCall();
  const target = $("transfer-target").value;
  if (!call || !target) return;
  for (const id of START_BUTTONS) $(id).disabled = true;
  status(mode === "attended" ? "来电人听等待音乐，正在呼叫…" : "正在呼叫…");
  let result;
  try {
    result = await api("POST", `/api/calls/${encodeURIComponent(call.id)}/transfer`, { target, mode });
  } finally {
    for (const id of START_BUTTONS) $(id).disabled = false;
  }
  if (result.status !== 202) {
    status(ERRORS[result.data.error_id] || result.data.message || "转接失败");
  } else if (mode === "attended") {
    consulting(true);
  }
}

function consulting(on) {
  $("consult-actions").hidden = !on;
  for (const id of START_BUTTONS) $(id).hidden = on;
  $("transfer-target").disabled = on;
}

async function finish(action) {
  const call = currentCall();
  if (!call) return;
  const result = await api(
    "POST",
    `/api/calls/${encodeURIComponent(call.id)}/transfer/${action}`,
    {},
  );
  if (result.status !== 200) {
    status(ERRORS[result.data.error_id] || result.data.message || "操作失败");
  }
}

export async function setupTransfer(callApi, getCall) {
  api = callApi;
  currentCall = getCall;
  const result = await api("GET", "/api/transfer-targets");
  const targets = result.status === 200 ? result.data.targets || [] : [];
  $("transfer-target").replaceChildren(
    ...targets.map((t) => new Option(`${t.name}（${t.number}）`, t.number)),
  );
  $("transfer-box").dataset.available = String(targets.length > 0);
  $("btn-transfer-blind").addEventListener("click", () => transfer("blind"));
  $("btn-transfer-three").addEventListener("click", () => transfer("three_way"));
  $("btn-transfer-consult").addEventListener("click", () => transfer("attended"));
  $("btn-consult-complete").addEventListener("click", () => finish("complete"));
  $("btn-consult-cancel").addEventListener("click", () => finish("cancel"));
}

export function renderTransfer(call) {
  const box = $("transfer-box");
  box.hidden = !call || call.phase !== "connected" || box.dataset.available !== "true";
  if (box.hidden) {
    status("");
    consulting(false);
  }
}

export function onTransferMessage(message) {
  if (message.type === "call.transferred") {
    consulting(false);
    status(message.mode === "three_way" ? `三方通话中（${message.target}）` : `已转接至 ${message.target}`);
  } else if (message.type === "call.consulting") {
    consulting(true);
    status(`正在与 ${message.target} 通话，来电人听等待音乐`);
  } else if (message.type === "call.transfer_failed") {
    consulting(false);
    status(
      message.reason === "cancelled"
        ? "已取回，来电人与您通话"
        : `转接 ${message.target} 未成功，来电人仍在线`,
    );
  }
}
