// Duty panel: the missed-call list (every agent, with callback tasks offered to them) and,
// for shift leads, who is on duty now and the override that lets an agent off the roster
// go ready. Self-contained: it starts when the desk shows an agent id.

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

const KINDS = { abandoned: "放弃", callback: "预约回拨", restart: "系统重启中断" };
const STATUSES = { open: "待回拨", offered: "回拨中", unreached: "未接通", done: "已回拨" };

function item(text, testid) {
  const li = document.createElement("li");
  li.textContent = text;
  if (testid) li.dataset.testid = testid;
  return li;
}

async function loadMissed(me) {
  const result = await call("GET", "/api/missed-calls");
  const list = $("missed-list");
  const rows = (result.data.missed_calls || []).filter((m) => m.status !== "done");
  if (!rows.length) {
    list.replaceChildren(item("暂无", "missed-empty"));
    return;
  }
  list.replaceChildren(...rows.map((m) => {
    const when = new Date(m.missed_at).toLocaleTimeString("zh-CN", { hour12: false });
    const li = item(`${when}  ${m.number}  ${KINDS[m.kind] || m.kind}  ${STATUSES[m.status] || m.status}`,
      "missed-item");
    li.dataset.callId = m.call_id;
    const mine = m.agent_id === me.id && (m.status === "offered" || m.status === "unreached");
    if (!mine && (m.status === "open" || m.status === "unreached")) {
      // 认领: the server gives the entry to one agent only (409 to the next).
      const take = document.createElement("button");
      take.type = "button";
      take.className = "small-btn";
      take.textContent = "认领";
      take.dataset.testid = "missed-take";
      take.addEventListener("click", async () => {
        const result = await call("POST", `/api/missed-calls/${encodeURIComponent(m.call_id)}`, { status: "offered" });
        if (result.status !== 200) $("missed-result").textContent = result.data.message || "认领失败";
        await loadMissed(me);
      });
      li.append(" ", take);
    } else if (mine) {
      // The holder sees the number and opens the 回拨 task (dial.js rings their phone).
      const open = document.createElement("button");
      open.type = "button";
      open.className = "small-btn";
      open.textContent = "回拨";
      open.dataset.testid = "missed-dial";
      open.addEventListener("click", () => showCallbackTask(m));
      li.append(" ", open);
    }
    if (m.status === "offered" && m.agent_id === me.id) {
      for (const [label, reached] of [["已回拨", true], ["未接通", false]]) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "quiet small-btn";
        button.textContent = label;
        button.dataset.testid = reached ? "callback-done" : "callback-unreached";
        button.addEventListener("click", async () => {
          await call("POST", `/api/callbacks/${encodeURIComponent(m.call_id)}/finish`, { reached });
          await loadMissed(me);
        });
        li.append(" ", button);
      }
    }
    return li;
  }));
}

async function loadRoster() {
  const result = await call("GET", "/api/roster");
  const roster = result.data;
  if (result.status !== 200) return;
  const title = `${roster.day} ${roster.shift}${roster.holiday ? `（${roster.holiday}）` : ""}`;
  $("roster-shift").textContent = roster.enforced ? title : `${title} · 未导入排班，所有坐席均可示闲`;
  const people = roster.on_duty.map((e) => {
    const seats = [...e.skills, ...e.dialects].join("、");
    return item(`${e.agent_id}${e.role === "lead" ? "（班长）" : ""}${seats ? `  ${seats}` : ""}`, "roster-person");
  });
  for (const o of roster.overrides) {
    people.push(item(`${o.agent_id}  临时上岗（${o.lead_id}：${o.reason}）`, "roster-override"));
  }
  $("roster-on-duty").replaceChildren(...(people.length ? people : [item("本班无人排班")]));
}

async function override(event) {
  event.preventDefault();
  const result = await call("POST", "/api/roster/overrides", {
    agent_id: $("override-agent").value.trim(),
    reason: $("override-reason").value.trim(),
  });
  $("override-result").textContent = result.status === 201
    ? `已允许 ${result.data.agent_id} 示闲至 ${new Date(result.data.until).toLocaleTimeString("zh-CN", { hour12: false })}`
    : (result.data.message || "操作失败");
  if (result.status === 201) {
    $("override-form").reset();
    await loadRoster();
  }
}

let started = null;

async function start() {
  const me = await call("GET", "/api/me");
  if (me.status !== 200) return;
  const agent = me.data.agent;
  if (started === agent.id) return;
  started = agent.id;
  $("duty-panel").hidden = false;
  $("duty-lead").hidden = agent.role !== "lead";
  $("missed-refresh").onclick = () => loadMissed(agent);
  await loadMissed(agent);
  if (agent.role === "lead") await loadRoster();
}

// An outbound callback task is pushed the moment routing offers it: show it at once, with
// its number (only this agent sees it unmasked), rather than wait for the list to refresh.
let callbackTask = null;

function showCallbackTask(message) {
  callbackTask = message.call_id;
  $("callback-task").dataset.callId = message.call_id;
  $("callback-task-number").textContent = message.number;
  $("callback-task").hidden = false;
}

async function finishCallbackTask(event) {
  const callId = callbackTask;
  if (!callId) return;
  const reached = event.currentTarget.dataset.reached === "true";
  const result = await call("POST", `/api/callbacks/${encodeURIComponent(callId)}/finish`, { reached });
  if (result.status === 200 || result.status === 409) {
    callbackTask = null;
    $("callback-task").hidden = true;
  }
  if (started) await loadMissed({ id: started });
}

document.addEventListener("hotline:message", (event) => {
  // Every console hears of each change to the list (numbers masked): re-read it, so the
  // holder gets their own entries' numbers from the server.
  if (event.detail.type === "missed.changed" && started) loadMissed({ id: started });
  if (event.detail.type === "callback.offered") {
    showCallbackTask(event.detail);
    if (started) loadMissed({ id: started });
  }
});
for (const testid of ["callback-task-done", "callback-task-unreached"]) {
  document.querySelector(`[data-testid="${testid}"]`).addEventListener("click", finishCallbackTask);
}
$("override-form").addEventListener("submit", override);
new MutationObserver(() => { if ($("agent-id").textContent) start(); })
  .observe($("agent-id"), { childList: true, characterData: true, subtree: true });
if ($("agent-id").textContent) start();
