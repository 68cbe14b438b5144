// The roster editor for shift leads: the week's shifts as a grid (arrow keys move, Enter puts an
// agent on the shift, number keys pick an agent in the cell, Delete takes them off; agents can
// also be dragged onto a shift), and beside it the staffing gap of the selected day.

import { requestJson } from "./http.js";

const $ = (id) => document.getElementById(id);
const state = { week: null, row: 0, col: 0, editing: null };

async function api(method, path, body) {
  const answer = await requestJson(method, path, body);
  if (answer.status === 401) location.assign("/");
  return answer;
}

function banner(text) {
  $("banner").textContent = text || "";
  $("banner").hidden = !text;
}

function addDays(iso, n) {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

const WEEKDAYS = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
const ROLE_NAMES = { agent: "坐席", lead: "值班长" };

function agentName(id) {
  const agent = state.week.agents.find((a) => a.id === id);
  return agent ? agent.name : id;
}

function cellAt(row, col) {
  return document.querySelector(`#grid-body td[data-row="${row}"][data-col="${col}"]`);
}

function chip(entry) {
  const el = document.createElement("button");
  el.type = "button";
  el.tabIndex = -1;
  el.className = `chip ${entry.role}`;
  el.dataset.testid = "chip";
  el.dataset.agent = entry.agent_id;
  el.title = `${ROLE_NAMES[entry.role]} ${entry.agent_id}`;
  el.append(`${entry.agent_id} ${agentName(entry.agent_id)}`);
  if (entry.role === "lead") el.append("（值班长）");
  if (entry.skills.length) {
    const seat = document.createElement("span");
    seat.className = "seat";
    seat.textContent = entry.skills.join(" ");
    el.append(seat);
  }
  if (entry.dialects.length) {
    const seat = document.createElement("span");
    seat.className = "dialect";
    seat.dataset.testid = "chip-dialects";
    seat.textContent = `方言:${entry.dialects.join(" ")}`;
    el.append(seat);
  }
  el.addEventListener("keydown", (event) => chipKey(event, entry));
  el.addEventListener("dblclick", () => openAssign(entry));
  return el;
}

function render() {
  const week = state.week;
  $("week-label").textContent = `${week.days[0].day} — ${week.days[6].day}`;
  const head = $("grid-head");
  const corner = document.createElement("th");
  corner.textContent = "班次";
  head.replaceChildren(corner, ...week.days.map((d, col) => {
    const th = document.createElement("th");
    th.scope = "col";
    th.dataset.col = String(col);
    th.dataset.testid = "day";
    if (d.day === week.today) th.className = "today";
    th.dataset.selected = String(col === state.col);
    th.append(`${WEEKDAYS[col]} ${d.day.slice(5)}`);
    if (d.holiday) {
      const h = document.createElement("div");
      h.className = "holiday";
      h.textContent = d.holiday === "weekend" ? "周末" : d.holiday;
      th.append(h);
    }
    th.addEventListener("click", () => select(state.row, col, true));
    return th;
  }));
  $("grid-body").replaceChildren(...week.shifts.map((shift, row) => {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = `${shift.name} ${shift.starts}起${shift.hours}小时`;
    tr.append(th);
    week.days.forEach((d, col) => {
      const td = document.createElement("td");
      td.setAttribute("role", "gridcell");
      td.dataset.testid = "cell";
      td.dataset.row = String(row);
      td.dataset.col = String(col);
      td.dataset.day = d.day;
      td.dataset.shift = shift.name;
      td.tabIndex = row === state.row && col === state.col ? 0 : -1;
      td.setAttribute("aria-label", `${d.day} ${shift.name}`);
      for (const entry of week.entries) {
        if (entry.day === d.day && entry.shift === shift.name) td.append(chip(entry));
      }
      td.addEventListener("keydown", cellKey);
      td.addEventListener("focus", () => select(row, col, false));
      td.addEventListener("dragover", (event) => { event.preventDefault(); td.classList.add("drop"); });
      td.addEventListener("dragleave", () => td.classList.remove("drop"));
      td.addEventListener("drop", (event) => {
        event.preventDefault();
        td.classList.remove("drop");
        const agentId = event.dataTransfer.getData("text/plain");
        if (agentId) save({ day: d.day, shift: shift.name, agent_id: agentId }, [row, col]);
      });
      tr.append(td);
    });
    return tr;
  }));
  $("palette").replaceChildren(...week.agents.map((agent) => {
    const li = document.createElement("li");
    li.draggable = true;
    li.dataset.testid = "palette-agent";
    li.dataset.agent = agent.id;
    li.textContent = `${agent.id} ${agent.name}${agent.role === "lead" ? "（值班长）" : ""}`;
    li.addEventListener("dragstart", (event) => event.dataTransfer.setData("text/plain", agent.id));
    return li;
  }));
  $("agent-ids").replaceChildren(...week.agents.map((agent) => {
    const option = document.createElement("option");
    option.value = agent.id;
    option.label = agent.name;
    return option;
  }));
  $("assign-dialects").replaceChildren(
    Object.assign(document.createElement("legend"), { textContent: "方言席（该方言队列的来电优先接给此坐席）" }),
    ...week.queues.map((queue) => {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = queue;
      box.dataset.testid = "assign-dialect";
      label.append(box, ` ${queue}`);
      return label;
    }),
  );
}

function select(row, col, focus) {
  const moved = col !== state.col;
  state.row = row;
  state.col = col;
  document.querySelectorAll("#grid-body td").forEach((td) => { td.tabIndex = -1; });
  const cell = cellAt(row, col);
  if (cell) {
    cell.tabIndex = 0;
    if (focus) cell.focus();
  }
  document.querySelectorAll("#grid-head th[data-col]").forEach((th) => {
    th.dataset.selected = String(Number(th.dataset.col) === col);
  });
  if (moved) loadGap();
}

function cellKey(event) {
  if (event.target !== event.currentTarget) return;
  const rows = state.week.shifts.length;
  const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
  if (moves[event.key]) {
    event.preventDefault();
    const [dr, dc] = moves[event.key];
    select(Math.min(rows - 1, Math.max(0, state.row + dr)), Math.min(6, Math.max(0, state.col + dc)), true);
  } else if (event.key === "Enter") {
    event.preventDefault();
    openAssign(null);
  } else if (/^[1-9]$/.test(event.key)) {
    const chips = event.currentTarget.querySelectorAll(".chip");
    const picked = chips[Number(event.key) - 1];
    if (picked) {
      event.preventDefault();
      picked.focus();
    }
  }
}

function chipKey(event, entry) {
  if (event.key === "Delete" || event.key === "Backspace") {
    event.preventDefault();
    remove(entry);
  } else if (event.key === "Enter") {
    event.preventDefault();
    openAssign(entry);
  } else if (event.key === "Escape") {
    event.preventDefault();
    cellAt(state.row, state.col).focus();
  }
}

function openAssign(entry) {
  const cell = cellAt(state.row, state.col);
  state.editing = { day: cell.dataset.day, shift: cell.dataset.shift };
  $("assign-where").textContent = `${cell.dataset.day} ${cell.dataset.shift}`;
  $("assign-agent").value = entry ? entry.agent_id : "";
  $("assign-agent").readOnly = Boolean(entry);
  $("assign-role").value = entry ? entry.role : "";
  $("assign-skills").value = entry ? entry.skills.join(" ") : "";
  document.querySelectorAll("[data-testid=assign-dialect]").forEach((box) => {
    box.checked = Boolean(entry && entry.dialects.includes(box.value));
  });
  $("assign-error").textContent = "";
  $("assign").showModal();
  $("assign-agent").focus();
}

function closeAssign() {
  $("assign").close();
  const cell = cellAt(state.row, state.col);
  if (cell) cell.focus();
}

async function save(body, at) {
  const { status, data } = await api("POST", "/api/roster/assignments", body);
  if (status !== 200 && status !== 201) return data.message || `保存失败（${status}）`;
  banner("");
  await reload(at);
  return null;
}

async function remove(entry) {
  const path = `/api/roster/assignments/${entry.day}/${encodeURIComponent(entry.shift)}/${encodeURIComponent(entry.agent_id)}`;
  const { status, data } = await api("DELETE", path);
  if (status !== 200) {
    banner(data.message || `移除失败（${status}）`);
    return;
  }
  await reload([state.row, state.col]);
}

async function reload(at) {
  await loadWeek(state.week.start);
  const [row, col] = at;
  select(row, col, true);
  await loadGap();
}

async function loadWeek(start) {
  const query = start ? `?start=${start}` : "";
  const { status, data } = await api("GET", `/api/roster/week${query}`);
  if (status !== 200) {
    banner(status === 403 ? "只有值班长可以编辑排班" : data.message || `读取排班失败（${status}）`);
    return false;
  }
  state.week = data;
  render();
  return true;
}

async function loadGap() {
  if (!state.week) return;
  const day = state.week.days[state.col].day;
  $("gap-day").textContent = day;
  const { status, data } = await api("GET", `/api/staffing/gap?day=${day}`);
  if (status !== 200 || data.day !== state.week.days[state.col].day) return;
  const t = data.target;
  $("gap-summary").textContent =
    `按最近 ${t.weeks} 周同一星期（${data.weeks_read.join("、")}）的来电，` +
    `话务处理 ${t.aht_seconds} 秒，${t.answer_seconds} 秒内接通 ${Math.round(t.service_level * 100)}%（Erlang C）；` +
    `缺人 ${data.hours_short} 个时段，当天到期工单 ${data.cases_due} 件`;
  $("gap-body").replaceChildren(...data.hours.map((h) => {
    const tr = document.createElement("tr");
    tr.dataset.testid = "gap-hour";
    tr.dataset.hour = String(h.hour);
    tr.className = h.gap < 0 ? "short" : h.gap > 0 ? "spare" : "";
    const cells = [
      [`${String(h.hour).padStart(2, "0")}:00`, "gap-time"],
      [h.calls.toFixed(1), "gap-calls"],
      [String(h.needed), "gap-needed"],
      [String(h.rostered), "gap-rostered"],
      [h.gap > 0 ? `+${h.gap}` : String(h.gap), "gap-value"],
      [String(h.cases_due), "gap-cases"],
    ];
    for (const [text, id] of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      td.dataset.testid = id;
      td.className = id;
      tr.append(td);
    }
    return tr;
  }));
  document.body.dataset.gapDay = day;
}

$("assign-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = {
    ...state.editing,
    agent_id: $("assign-agent").value.trim(),
    skills: $("assign-skills").value.split(/[\s,;，]+/).filter(Boolean),
    dialects: [...document.querySelectorAll("[data-testid=assign-dialect]:checked")].map((b) => b.value),
  };
  if ($("assign-role").value) body.role = $("assign-role").value;
  const error = await save(body, [state.row, state.col]);
  if (error) {
    $("assign-error").textContent = error;
    return;
  }
  closeAssign();
});
$("assign-cancel").addEventListener("click", closeAssign);
$("assign").addEventListener("cancel", (event) => { event.preventDefault(); closeAssign(); });
$("prev-week").addEventListener("click", () => loadWeek(addDays(state.week.start, -7)).then(loadGap));
$("next-week").addEventListener("click", () => loadWeek(addDays(state.week.start, 7)).then(loadGap));
$("this-week").addEventListener("click", () => loadWeek(null).then(loadGap));

async function start() {
  const wanted = new URLSearchParams(location.search).get("start");
  if (!(await loadWeek(wanted))) return;
  const today = state.week.days.findIndex((d) => d.day === state.week.today);
  state.col = -1;  // so that select() reads the gap
  select(0, today >= 0 ? today : 0, false);
  document.body.dataset.ready = "true";
}

start();
