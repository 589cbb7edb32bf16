// The live bake view: task graph (one SVG), legend, progress bar, task table, task log.
// All text from the kernel (ids, titles, logs) goes through textContent/setAttribute, never as
// HTML, so a task printing <script> shows as text.

const SVG = "http://www.w3.org/2000/svg";

function h(tag, cls, text) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text !== undefined) el.textContent = text;
  return el;
}

function s(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  return el;
}

function fmtTime(ts) {
  if (!ts) return "";
  const d = new Date(ts * 1000);
  return d.toLocaleTimeString();
}

function render({ model, el }) {
  const root = h("div", "nj-bake");
  const header = h("div", "nj-bake-header");
  const title = h("span", "nj-bake-title");
  const badge = h("span", "nj-bake-badge");
  header.append(title, badge);
  const reason = h("div", "nj-bake-reason");

  const progressWrap = h("div", "nj-bake-progress");
  const progressBar = h("div", "nj-bake-progress-bar");
  const progressText = h("span", "nj-bake-progress-text");
  progressWrap.append(progressBar);

  const controls = h("div", "nj-bake-controls");
  const collapseLabel = h("label", "nj-bake-collapse");
  const collapse = document.createElement("input");
  collapse.type = "checkbox";
  collapseLabel.append(collapse, document.createTextNode(" collapse matrix"));
  const legend = h("div", "nj-bake-legend");
  controls.append(progressText, collapseLabel, legend);

  const graphBox = h("div", "nj-bake-graph");
  const table = h("table", "nj-bake-table");
  const thead = h("thead");
  const headRow = h("tr");
  for (const col of ["ID", "STATUS", "RAW ID", "STARTED", "FINISHED"]) headRow.append(h("th", "", col));
  thead.append(headRow);
  const tbody = h("tbody");
  table.append(thead, tbody);
  const tableBox = h("div", "nj-bake-table-box");
  tableBox.append(table);

  const logHead = h("div", "nj-bake-log-head");
  const notebookLink = h("div", "nj-bake-notebook");
  const log = h("pre", "nj-bake-log");
  root.append(header, reason, progressWrap, controls, graphBox, tableBox, logHead, notebookLink, log);
  el.append(root);

  let rects = [];
  let rowCells = new Map();

  function select(id) {
    model.set("selected", id);
    model.save_changes();
  }

  function drawLegend() {
    legend.replaceChildren();
    const colors = model.get("colors") || {};
    for (const [status, color] of Object.entries(colors)) {
      const item = h("span", "nj-bake-legend-item");
      const sw = h("span", "nj-bake-swatch");
      sw.style.background = color;
      item.append(sw, document.createTextNode(status));
      legend.append(item);
    }
  }

  function drawGraph() {
    const g = model.get("graph") || {};
    const ids = g.ids || [];
    const svg = s("svg", { width: g.width || 0, height: g.height || 0, class: "nj-bake-svg" });
    const w = g.node_w || 150;
    const hh = g.node_h || 26;
    const edges = g.edges || [];
    let d = "";
    let heads = "";
    for (let k = 0; k + 1 < edges.length; k += 2) {
      const a = edges[k], b = edges[k + 1];
      const x1 = g.x[a] + w, y1 = g.y[a] + hh / 2, x2 = g.x[b], y2 = g.y[b] + hh / 2;
      const mx = (x1 + x2) / 2;
      d += `M${x1} ${y1}C${mx} ${y1} ${mx} ${y2} ${x2 - 5} ${y2}`;
      heads += `M${x2 - 6} ${y2 - 3}L${x2} ${y2}L${x2 - 6} ${y2 + 3}Z`;
    }
    // all edges in one path and all arrow heads in another: cheap at 1000 tasks
    svg.append(s("path", { d, class: "nj-bake-edges", fill: "none" }));
    svg.append(s("path", { d: heads, class: "nj-bake-heads" }));
    rects = [];
    const nodes = s("g", {});
    for (let i = 0; i < ids.length; i++) {
      const node = s("g", { class: "nj-bake-node", transform: `translate(${g.x[i]},${g.y[i]})` });
      const rect = s("rect", { width: w, height: hh, rx: 5, ry: 5 });
      const tip = s("title");
      const count = g.counts[i];
      tip.textContent = count > 1 ? `${ids[i]} (${count} tasks)` : ids[i];
      let label = g.labels[i] || "";
      if (count > 1) label = `${label} ×${count}`;
      if (label.length > 22) label = label.slice(0, 21) + "…";
      const text = s("text", { x: 8, y: hh / 2 + 4 });
      text.textContent = label;
      node.append(rect, tip, text);
      node.addEventListener("click", () => select(ids[i]));
      nodes.append(node);
      rects.push(rect);
    }
    svg.append(nodes);
    graphBox.replaceChildren(svg);
    paintStatuses();
  }

  function paintStatuses() {
    const statuses = model.get("statuses") || [];
    const colors = model.get("colors") || {};
    for (let i = 0; i < rects.length; i++) {
      const st = statuses[i] || "unknown";
      rects[i].setAttribute("fill", colors[st] || colors.unknown || "crimson");
      rects[i].setAttribute("data-status", st);
    }
  }

  function drawTable() {
    const rows = model.get("tasks") || [];
    const seen = new Set();
    for (const row of rows) {
      const [id, status, rawId, started, finished] = row;
      seen.add(id);
      let cells = rowCells.get(id);
      if (!cells) {
        const tr = h("tr");
        cells = [0, 1, 2, 3, 4].map(() => h("td"));
        tr.append(...cells);
        tr.addEventListener("click", () => select(id));
        tbody.append(tr);
        cells.tr = tr;
        rowCells.set(id, cells);
      }
      const values = [id, status, rawId, fmtTime(started), fmtTime(finished)];
      for (let c = 0; c < 5; c++) {
        if (cells[c].textContent !== values[c]) cells[c].textContent = values[c];
      }
      cells[1].className = `nj-bake-st nj-bake-st-${status}`;
    }
    for (const [id, cells] of rowCells) {
      if (!seen.has(id)) {
        cells.tr.remove();
        rowCells.delete(id);
      }
    }
  }

  function drawHeader() {
    title.textContent = model.get("title");
    const result = model.get("result");
    badge.textContent = result;
    badge.className = `nj-bake-badge nj-bake-st-${result}`;
    reason.textContent = model.get("reason");
    const [done, total] = model.get("progress") || [0, 0];
    progressBar.style.width = total ? `${(100 * done) / total}%` : "0%";
    progressText.textContent = `${done}/${total} finished`;
    collapse.checked = model.get("collapsed");
  }

  function drawLog() {
    const sel = model.get("selected");
    logHead.textContent = sel ? `Log of ${sel}` : "Click a task to see its log";
    log.textContent = model.get("log");
    log.style.display = sel ? "block" : "none";
    drawNotebook();
  }

  // the selected task's executed notebook (nbrun): open it in JupyterLab, else its HTML page
  function drawNotebook() {
    const nb = model.get("notebook") || {};
    notebookLink.replaceChildren();
    if (!nb.path) return;
    const href = nb.lab_url || nb.html_url;
    const link = h(href ? "a" : "span", "", `Executed notebook: ${nb.path}`);
    if (href) {
      link.setAttribute("href", href);
      link.setAttribute("target", "_blank");
      link.setAttribute("rel", "noopener");
    }
    notebookLink.append(link);
  }

  collapse.addEventListener("change", () => {
    model.set("collapsed", collapse.checked);
    model.save_changes();
  });

  drawLegend();
  drawHeader();
  drawGraph();
  drawTable();
  drawLog();
  const handlers = [
    ["change:graph", drawGraph],
    ["change:statuses", paintStatuses],
    ["change:tasks", drawTable],
    ["change:title", drawHeader],
    ["change:result", drawHeader],
    ["change:reason", drawHeader],
    ["change:progress", drawHeader],
    ["change:collapsed", drawHeader],
    ["change:log", drawLog],
    ["change:selected", drawLog],
    ["change:notebook", drawNotebook],
    ["change:colors", () => { drawLegend(); paintStatuses(); }],
  ];
  for (const [event, fn] of handlers) model.on(event, fn);
  return () => {
    for (const [event, fn] of handlers) model.off(event, fn);
  };
}

export default { render };
