// What the classifier adds beside the department chips: why it suggests them, the address it
// heard, a 确权 coordinator when ownership is unclear, and open tickets this one may repeat
// (并单). The agent decides; nothing here saves anything.

const $ = (id) => document.getElementById(id);
const KINDS = { department: "部门", category: "类别", urgent: "紧急", ownership: "确权", model: "学习" };
const REPEAT_REASONS = { "same-place-and-category": "同一地点同类问题", "similar-text": "描述相近" };

let api = null;
let names = {};
const state = { addressAuto: "", mergeInto: null, repeatSeq: 0 };

export function setupAssist(apiCall, departmentNames) {
  const first = api === null;
  api = apiCall;
  names = departmentNames;
  if (!first) return; // a second login on the same page: the listeners are in place
  $("ticket-address").addEventListener("input", () => {
    state.addressAuto = "";
    $("address-auto").hidden = true;
  });
  $("merge-cancel").addEventListener("click", () => chooseMerge(null));
}

export function mergeInto() {
  return state.mergeInto;
}

export function clearAssist() {
  state.repeatSeq += 1;
  state.addressAuto = "";
  $("address-auto").hidden = true;
  $("reasons").textContent = "";
  $("ownership").replaceChildren();
  $("ownership").hidden = true;
  $("repeats").replaceChildren();
  $("repeats").hidden = true;
  chooseMerge(null);
}

export function showAssist(result, text, category) {
  renderReasons(result.reasons || []);
  offerAddress(result.location);
  renderOwnership(result);
  findRepeats(text, category);
}

function renderReasons(reasons) {
  const parts = reasons
    .filter((reason) => reason.words.length)
    .map((reason) => {
      const target = names[reason.target] || reason.target;
      return `${reason.words.join("、")} → ${KINDS[reason.kind] || reason.kind}：${target}`;
    });
  $("reasons").textContent = parts.length ? `依据：${parts.join("；")}` : "";
}

function offerAddress(location) {
  const input = $("ticket-address");
  // Only fill an empty field or one we filled: never overwrite what the agent typed.
  if (!location || (input.value.trim() && input.value !== state.addressAuto)) return;
  input.value = location.address;
  state.addressAuto = location.address;
  $("address-auto").hidden = false;
}

function renderOwnership(result) {
  const box = $("ownership");
  if (!result.unclear_ownership || !result.coordinator) {
    box.replaceChildren();
    box.hidden = true;
    return;
  }
  const label = document.createElement("span");
  label.textContent = `权属不明（${result.unclear_ownership}），可转确权协调：`;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "chip";
  button.setAttribute("data-testid", "coordinator");
  button.textContent = result.coordinator.name;
  button.addEventListener("click", () => {
    $("ticket-department").value = result.coordinator.code;
    $("ticket-department").dispatchEvent(new Event("change", { bubbles: true }));
  });
  box.replaceChildren(label, button);
  box.hidden = false;
}

async function findRepeats(text, category) {
  const seq = ++state.repeatSeq;
  let result;
  try {
    result = await api("POST", "/api/tickets/repeats", {
      text: text.slice(0, 4000),
      address: $("ticket-address").value.trim().slice(0, 300),
      category_code: category,
    });
  } catch {
    return; // the suggestion still stands; a lost session is handled by the console
  }
  if (seq !== state.repeatSeq || result.status !== 200) return;
  renderRepeats(result.data.repeats, result.data.days);
}

function renderRepeats(repeats, days) {
  const box = $("repeats");
  if (!repeats.length) {
    box.replaceChildren();
    box.hidden = true;
    if (state.mergeInto) chooseMerge(null);
    return;
  }
  const title = document.createElement("p");
  title.className = "small muted";
  title.textContent = `近 ${days} 天可能重复的工单：`;
  const list = document.createElement("ul");
  for (const repeat of repeats) {
    const item = document.createElement("li");
    item.setAttribute("data-testid", "repeat");
    item.dataset.number = repeat.number;
    const text = document.createElement("span");
    const why = REPEAT_REASONS[repeat.reason] || repeat.reason;
    text.textContent = `${repeat.number}（${why}）${repeat.address}：${repeat.description}`;
    const merge = document.createElement("button");
    merge.type = "button";
    merge.className = "secondary small";
    merge.setAttribute("data-testid", "merge");
    merge.textContent = "并单";
    merge.addEventListener("click", () => chooseMerge(repeat.number));
    item.append(text, merge);
    list.append(item);
  }
  box.replaceChildren(title, list);
  box.hidden = false;
}

function chooseMerge(number) {
  state.mergeInto = number;
  $("merge-target").hidden = !number;
  $("merge-number").textContent = number || "";
}
