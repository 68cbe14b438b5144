// The agent console: log in, change state, see the call, write the ticket with suggestions.

const STATE_LABELS = {
  logged_out: "未签入", ready: "空闲", offered: "振铃", talking: "通话中",
  wrap_up: "话后处理", paused: "示忙",
};

const $ = (id) => document.getElementById(id);
const desk = {
  agent: null, call: null, category: null, departmentTouched: false, urgentTouched: false,
  socket: null, reconnectDelay: 1000, timer: null, classifySeq: 0,
};

async function api(method, path, body) {
  const options = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  let data = {};
  try { data = await response.json(); } catch { /* empty body */ }
  return { status: response.status, data };
}

function showState(state) {
  const badge = $("state-badge");
  badge.textContent = STATE_LABELS[state] || state;
  badge.className = `badge state-${state}`;
  badge.dataset.state = state;
}

function showCall(kind, message) {
  const panel = $("call-panel");
  if (kind === "offered" || kind === "connected") {
    desk.call = { id: message.call_id, caller: message.caller, hotline: message.hotline };
    $("call-caller").textContent = message.caller || "";
    $("call-hotline").textContent = message.hotline || "";
    $("call-status").textContent = kind === "offered" ? "来电振铃，请接听话机" : "通话中";
    panel.className = `card call ${kind}`;
    if (!$("ticket-phone").value) $("ticket-phone").value = message.caller || "";
    if (message.hotline) $("ticket-hotline").value = message.hotline;
    if (kind === "connected") startTimer();
  } else if (kind === "ended") {
    $("call-status").textContent = "已挂机";
    panel.className = "card call ended";
    stopTimer();
  } else if (kind === "missed") {
    $("call-status").textContent = "未接听，已示忙";
    panel.className = "card call missed";
    desk.call = null;
    stopTimer();
  }
}

function startTimer() {
  stopTimer();
  const started = Date.now();
  desk.timer = setInterval(() => {
    const seconds = Math.floor((Date.now() - started) / 1000);
    $("call-timer").textContent =
      `${String(Math.floor(seconds / 60)).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;
  }, 1000);
}

function stopTimer() {
  if (desk.timer) clearInterval(desk.timer);
  desk.timer = null;
}

function connectSocket() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws`);
  desk.socket = socket;
  socket.onopen = () => { desk.reconnectDelay = 1000; };
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    switch (message.type) {
      case "hello": showState(message.state); break;
      case "agent.state":
        if (message.agent_id === desk.agent.id) showState(message.state);
        break;
      case "call.offered": showCall("offered", message); break;
      case "call.connected": showCall("connected", message); break;
      case "call.ended": showCall("ended", message); break;
      case "call.missed": showCall("missed", message); break;
      case "phone.registered":
        $("phone-status").textContent = message.expires > 0 ? "话机已注册" : "话机已注销";
        break;
      default: break;
    }
  };
  socket.onclose = () => {
    if (!desk.agent) return;
    setTimeout(connectSocket, desk.reconnectDelay);
    desk.reconnectDelay = Math.min(desk.reconnectDelay * 2, 30000);
  };
}

async function setState(state) {
  const { status, data } = await api("POST", `/api/agents/${desk.agent.id}/state`, { state });
  if (status === 200) showState(data.state);
  else alert(data.message || "状态切换失败");
}

function clearErrors() {
  for (const element of document.querySelectorAll(".field-error")) {
    element.hidden = true;
    element.textContent = "";
  }
}

function showFieldError(field, message) {
  const element = document.querySelector(`.field-error[data-field="${field || ""}"]`)
    || $("form-error");
  element.textContent = message;
  element.hidden = false;
}

function renderSuggestions(result) {
  const box = $("suggestions");
  box.replaceChildren();
  for (const department of result.departments) {
    if (department.score <= 0) continue;
    const chip = document.createElement("button");
    chip.type = "button";
    chip.className = "chip";
    chip.dataset.testid = "suggestion";
    chip.setAttribute("data-testid", "suggestion");
    chip.dataset.code = department.code;
    chip.textContent = `${department.name}  ${Math.round(department.score * 100)}%`;
    chip.addEventListener("click", () => {
      $("ticket-department").value = department.code;
      desk.departmentTouched = true;
      markChosen();
    });
    box.append(chip);
  }
  if (result.category) {
    const category = document.createElement("span");
    category.className = "category";
    category.textContent = `类别：${result.category.name}（${result.category.code}）`;
    box.append(category);
  }
  desk.category = result.category ? result.category.code : null;
  const top = result.departments.find((d) => d.score > 0);
  if (top && !desk.departmentTouched) $("ticket-department").value = top.code;
  if (!desk.urgentTouched) $("ticket-urgent").checked = result.urgent;
  $("urgent-reason").textContent = result.urgent_reason ? `（${result.urgent_reason}）` : "";
  markChosen();
}

function markChosen() {
  const chosen = $("ticket-department").value;
  for (const chip of document.querySelectorAll("#suggestions .chip")) {
    chip.classList.toggle("chosen", chip.dataset.code === chosen);
  }
}

let classifyTimer = null;
function scheduleClassify() {
  clearTimeout(classifyTimer);
  classifyTimer = setTimeout(async () => {
    const text = $("ticket-description").value;
    const seq = ++desk.classifySeq;
    if (!text.trim()) { $("suggestions").replaceChildren(); return; }
    const { status, data } = await api("POST", "/api/classify", { text });
    if (status === 200 && seq === desk.classifySeq) renderSuggestions(data);
  }, 250);
}

async function saveTicket(event) {
  if (event) event.preventDefault();
  clearErrors();
  $("ticket-saved").textContent = "";
  const form = {
    hotline: $("ticket-hotline").value,
    call_id: desk.call ? desk.call.id : null,
    caller_name: $("ticket-name").value,
    phone: $("ticket-phone").value,
    address: $("ticket-address").value,
    description: $("ticket-description").value,
    department_code: $("ticket-department").value,
    category_code: desk.category,
    urgent: $("ticket-urgent").checked,
  };
  const { status, data } = await api("POST", "/api/tickets", form);
  if (status === 201) {
    $("ticket-saved").textContent = `已保存：${data.number}`;
    $("ticket-saved").dataset.number = data.number;
    $("ticket-form").reset();
    $("suggestions").replaceChildren();
    $("urgent-reason").textContent = "";
    Object.assign(desk, { call: null, category: null, departmentTouched: false, urgentTouched: false });
    if (desk.hotlines) $("ticket-hotline").value = desk.hotlines[0];
  } else {
    showFieldError(data.field, data.message || "保存失败，请重试");
  }
}

async function fillSelects(hotlines) {
  desk.hotlines = hotlines;
  $("ticket-hotline").replaceChildren(...hotlines.map((h) => new Option(h, h)));
  const { data } = await api("GET", "/api/departments");
  $("ticket-department").replaceChildren(
    ...data.departments.map((d) => new Option(d.name, d.code)),
  );
}

async function enterDesk() {
  const { status, data } = await api("GET", "/api/me");
  if (status !== 200) return false;
  desk.agent = data.agent;
  $("agent-name").textContent = data.agent.name;
  $("agent-id").textContent = `工号 ${data.agent.id}${data.agent.role === "lead" ? " · 班长" : ""}`;
  showState(data.status.state);
  await fillSelects(data.hotlines);
  if (data.call) showCall(data.call.state === "connected" ? "connected" : "offered", data.call);
  $("login-view").hidden = true;
  $("desk-view").hidden = false;
  connectSocket();
  $("ticket-description").focus();
  return true;
}

async function login(event) {
  event.preventDefault();
  $("login-error").hidden = true;
  const { status, data } = await api("POST", "/api/login", {
    agent_id: $("login-agent").value.trim(),
    password: $("login-password").value,
  });
  if (status !== 200) {
    $("login-error").textContent = status === 401 ? "工号或密码错误" : (data.message || "登录失败");
    $("login-error").hidden = false;
    return;
  }
  $("login-password").value = "";
  await enterDesk();
}

async function logout() {
  await api("POST", "/api/logout");
  desk.agent = null;
  if (desk.socket) desk.socket.close();
  $("desk-view").hidden = true;
  $("login-view").hidden = false;
}

document.addEventListener("DOMContentLoaded", async () => {
  $("login-form").addEventListener("submit", login);
  $("btn-ready").addEventListener("click", () => setState("ready"));
  $("btn-paused").addEventListener("click", () => setState("paused"));
  $("btn-logout").addEventListener("click", logout);
  $("ticket-form").addEventListener("submit", saveTicket);
  $("ticket-description").addEventListener("input", scheduleClassify);
  $("ticket-department").addEventListener("change", () => { desk.departmentTouched = true; markChosen(); });
  $("ticket-urgent").addEventListener("change", () => { desk.urgentTouched = true; });
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s" && desk.agent) {
      event.preventDefault();
      saveTicket();
    }
  });
  await enterDesk();  // an existing session cookie skips the login form
});
