// The report page for shift leads and admins: pick a period, read the seeds' indicators with
// 环比 and 同比, see the charts (each a PNG to paste into a document) and download the report.

const $ = (id) => document.getElementById(id);

function pct(value) { return `${(value * 100).toFixed(2)}%`; }

function shown(item, value = item.value) {
  if (value === null || value === undefined) return "—";
  if (item.unit === "%") return pct(value);
  if (item.unit === "秒") return value.toFixed(1);
  return String(Math.round(value));
}

function change(item, delta) {
  if (delta === null || delta === undefined) return "—";
  const sign = delta >= 0 ? "+" : "";
  return item.unit === "%" ? `${sign}${(delta * 100).toFixed(2)}个百分点` : `${sign}${(delta * 100).toFixed(2)}%`;
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function periodQuery() {
  const kind = $("period-kind").value;
  if (kind === "range") return `from=${$("period-from").value}&to=${$("period-to").value || $("period-from").value}`;
  if (kind === "year") return `period=${$("period-year").value}`;
  if (kind === "quarter") return `period=${$("period-year").value}-Q${$("period-quarter").value}`;
  return `period=${$("period-month").value}`;
}

function showKind() {
  const kind = $("period-kind").value;
  $("period-month").hidden = kind !== "month";
  $("period-year").hidden = kind !== "year" && kind !== "quarter";
  $("period-quarter").hidden = kind !== "quarter";
  $("period-range").hidden = kind !== "range";
}

function fillIndicators(section, items) {
  const body = document.querySelector(`[data-testid="indicators-${section}"] tbody`);
  body.replaceChildren(...items.filter((i) => i.section === section).map((item) => {
    const tr = document.createElement("tr");
    tr.dataset.key = item.key;
    tr.dataset.testid = "indicator";
    const parts = item.denominator === null ? "" : `${item.numerator}/${item.denominator}`;
    tr.append(cell(item.name), cell(shown(item)), cell(parts),
      cell(change(item, item.change_mom), item.change_mom > 0 ? "up" : item.change_mom < 0 ? "down" : ""),
      cell(change(item, item.change_yoy), item.change_yoy > 0 ? "up" : item.change_yoy < 0 ? "down" : ""));
    return tr;
  }));
}

function fillBreakdowns(breakdowns) {
  const sections = Object.entries(breakdowns).map(([name, table]) => {
    const section = document.createElement("section");
    section.className = "card";
    const heading = document.createElement("h2");
    heading.textContent = table.title;
    const grid = document.createElement("table");
    grid.className = "breakdown";
    grid.dataset.testid = `breakdown-${name}`;
    const head = document.createElement("tr");
    const columns = table.rows.length ? table.rows[0].values.map((v) => v.name) : [];
    for (const text of [table.dimension, ...columns]) {
      const th = document.createElement("th");
      th.textContent = text;
      head.append(th);
    }
    grid.append(head);
    for (const row of table.rows) {
      const tr = document.createElement("tr");
      tr.append(cell(row.label), ...row.values.map((v) => cell(shown(v))));
      grid.append(tr);
    }
    section.append(heading, grid);
    return section;
  });
  $("breakdowns").replaceChildren(...sections);
}

async function load() {
  const query = periodQuery();
  const response = await fetch(`/api/reports?${query}`, { credentials: "same-origin" });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    $("report").hidden = true;
    $("report-error").hidden = false;
    $("report-error").textContent = response.status === 401
      ? "请先在坐席台登录。" : response.status === 403
        ? "只有班长和管理员可以查看统计报表。" : (data.message || "无法生成报表");
    return;
  }
  $("report-error").hidden = true;
  $("report").hidden = false;
  $("report-centre").textContent = data.centre;
  $("report-title").textContent = `${data.centre} ${data.period.label}报表`;
  const asOf = new Date(data.as_of).toLocaleString("zh-CN", { hour12: false, timeZone: data.timezone });
  $("report-note").textContent = `${data.snapshot ? "月末存档，" : ""}统计至 ${asOf}；环比与上一期相比，同比与去年同期相比，比率的变化以百分点计。`;
  fillIndicators("calls", data.indicators);
  fillIndicators("cases", data.indicators);
  $("charts").replaceChildren(...data.charts.map((c) => {
    const figure = document.createElement("figure");
    const img = document.createElement("img");
    img.src = c.url;
    img.alt = c.key;
    img.dataset.chart = c.key;
    img.dataset.testid = "chart";
    figure.append(img);
    return figure;
  }));
  fillBreakdowns(data.breakdowns);
  for (const link of document.querySelectorAll("[data-format]")) {
    link.href = `/api/reports/export?${query}&format=${link.dataset.format}`;
  }
}

function start() {
  const now = new Date();
  const month = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
  const params = new URLSearchParams(location.search);
  const period = params.get("period") || month;
  if (/^\d{4}-\d{2}$/.test(period)) $("period-month").value = period;
  else $("period-month").value = month;
  $("period-year").value = String(now.getFullYear());
  $("period-kind").addEventListener("change", showKind);
  $("period-form").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  showKind();
  load();
}

start();
