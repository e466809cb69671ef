// Shared helpers of the pages: every chart refuses to draw without rows (an empty chart is an
// error box, which the dashboard test counts), and every figure says which mart it reads.
import * as Plot from "@observablehq/plot";

export {Plot};

export function chart(rows, options, label) {
  if (!rows || rows.length === 0) throw new Error(`no rows for the chart "${label}"`);
  const svg = Plot.plot({marginLeft: 110, ...options});
  svg.setAttribute("data-chart", label);
  svg.setAttribute("data-rows", String(rows.length));
  return svg;
}

export function source(mart) {
  const p = document.createElement("p");
  p.className = "mart";
  p.append("数据来源 Source: ");
  const code = document.createElement("code");
  code.textContent = mart;
  p.append(code);
  return p;
}

// a plain table (no outside library): columns = [[key, header, format?], ...]
export function table(rows, columns, label) {
  if (!rows || rows.length === 0) {
    const p = document.createElement("p");
    p.className = "empty-table";
    p.setAttribute("data-table", label);
    p.textContent = "无记录 No rows";
    return p;
  }
  const t = document.createElement("table");
  t.setAttribute("data-table", label);
  t.setAttribute("data-rows", String(rows.length));
  const head = t.createTHead().insertRow();
  for (const [, header] of columns) {
    const th = document.createElement("th");
    th.textContent = header;
    head.append(th);
  }
  const body = t.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const [key, , format] of columns) {
      const td = tr.insertCell();
      const value = row[key];
      td.textContent = format ? format(value, row) : value ?? "–";
      td.setAttribute("data-key", key);
      td.setAttribute("data-value", JSON.stringify(value ?? null));
    }
  }
  return t;
}

export const GRADE_ZH = {high_intent: "高意向 high intent", potential: "潜在 potential", nurture: "培育 nurture"};
export const STAGE_ZH = {awareness: "认知 awareness", engaged: "互动 engaged", mql: "市场合格 MQL", sql: "销售合格 SQL", won: "成交 won"};
export const MODEL_ZH = {
  markov: "马尔可夫 Markov", shapley: "沙普利 Shapley", first_touch: "首次触点 first touch", last_touch: "末次触点 last touch",
  last_non_direct: "末次非直接 last non-direct", linear: "线性 linear", position_based: "位置 position", time_decay: "时间衰减 time decay"
};

export function number(value, digits = 0) {
  if (value === null || value === undefined) return "–";
  return Number(value).toLocaleString("en-US", {maximumFractionDigits: digits, minimumFractionDigits: digits});
}

export function percent(value) {
  return value === null || value === undefined ? "–" : `${(100 * value).toFixed(1)}%`;
}

export function change(value) {
  if (value === null || value === undefined) return "–";
  return value > 0 ? `+${number(value)}` : number(value);
}
