// Transfer panel of the call card: hand the caller to a department (转接) or bring the
// department in while staying on the line (三方通话). The server checks who may do it.

const ERRORS = {
  "unknown-call": "该通话已结束",
  "not-connected": "通话尚未接通，无法转接",
  "unknown-target": "转接号码不在目录中",
  "transfer-in-progress": "正在转接中，请稍候",
  forbidden: "只有接听该来电的坐席或班长可以转接",
  "no-outbound-proxy": "系统未配置外呼线路，无法转接",
};

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
  for (const id of ["btn-transfer-blind", "btn-transfer-three"]) $(id).disabled = true;
  status("正在呼叫…");
  let result;
  try {
    result = await api("POST", `/api/calls/${encodeURIComponent(call.id)}/transfer`, { target, mode });
  } finally {
    for (const id of ["btn-transfer-blind", "btn-transfer-three"]) $(id).disabled = false;
  }
  if (result.status !== 202) {
    status(ERRORS[result.data.error_id] || result.data.message || "转接失败");
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
}

export function renderTransfer(call) {
  const box = $("transfer-box");
  box.hidden = !call || call.phase !== "connected" || box.dataset.available !== "true";
  if (box.hidden) status("");
}

export function onTransferMessage(message) {
  if (message.type === "call.transferred") {
    status(message.mode === "three_way" ? `三方通话中（${message.target}）` : `已转接至 ${message.target}`);
  } else if (message.type === "call.transfer_failed") {
    status(`转接 ${message.target} 未成功，来电人仍在线`);
  }
}
