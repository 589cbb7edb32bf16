/**
 * The tasks table of a bake view: only the rows in sight are in the DOM (a 10,000-task bake
 * keeps ~30 rows), updated in place; status badges in the graph's colours.
 */
import { knownStatus, textColor, statusColor } from './colors';
import { IBakeGraph } from './types';

const ROW_PX = 22;
const SPARE_ROWS = 8;

function when(seconds: number | null | undefined): string {
  return seconds ? new Date(seconds * 1000).toLocaleTimeString() : '';
}

/** A status badge: Neu.ro's colour, with the text colour that reads best on it. */
export function statusBadge(status: string): HTMLSpanElement {
  const node = document.createElement('span');
  paintBadge(node, status);
  return node;
}

/** Make (or remake) an element a status badge. */
export function paintBadge(node: HTMLElement, status: string): void {
  const known = knownStatus(status);
  node.className = `nj-graph-badge nj-graph-status-${known}`;
  node.dataset.status = known;
  node.style.background = statusColor(known);
  node.style.color = textColor(known);
  node.textContent = status || 'unknown';
}

const COLUMNS = ['Task', 'Status', 'Exit', 'Started', 'Finished'];

/** The table; `onPick` gets the index of a clicked task. */
export class TaskTable {
  constructor(onPick: (task: number) => void) {
    this._onPick = onPick;
    this.node = document.createElement('div');
    this.node.className = 'nj-graph-table';
    const head = document.createElement('div');
    head.className = 'nj-graph-row nj-graph-head';
    for (const name of COLUMNS) {
      const cell = document.createElement('span');
      cell.textContent = name;
      head.append(cell);
    }
    this._scroll = document.createElement('div');
    this._scroll.className = 'nj-graph-table-scroll';
    this._body = document.createElement('div');
    this._body.className = 'nj-graph-table-body';
    this._scroll.append(this._body);
    this.node.append(head, this._scroll);
    this._scroll.addEventListener('scroll', () => this._render());
  }

  readonly node: HTMLDivElement;

  /** Show the tasks of a graph; `selected` is a task index or -1. */
  update(data: IBakeGraph, selected: number): void {
    this._data = data;
    this._selected = selected;
    this._body.style.height = `${data.structure.ids.length * ROW_PX}px`;
    this._render();
  }

  /** How far the rows are scrolled. */
  get scrollTop(): number {
    return this._scroll.scrollTop;
  }

  set scrollTop(value: number) {
    this._scroll.scrollTop = value;
    this._render();
  }

  /** Mark a row selected and scroll it into sight. */
  select(task: number): void {
    this._selected = task;
    if (task >= 0) {
      const top = task * ROW_PX;
      const view = this._scroll;
      if (top < view.scrollTop || top + ROW_PX > view.scrollTop + view.clientHeight) {
        view.scrollTop = Math.max(0, top - view.clientHeight / 2);
      }
    }
    this._render();
  }

  private _render(): void {
    const data = this._data;
    if (!data) {
      return;
    }
    const n = data.structure.ids.length;
    const height = this._scroll.clientHeight || 240;
    const first = Math.max(0, Math.floor(this._scroll.scrollTop / ROW_PX) - SPARE_ROWS);
    const last = Math.min(n, Math.ceil((this._scroll.scrollTop + height) / ROW_PX) + SPARE_ROWS);
    while (this._rows.length < last - first) {
      this._rows.push(this._makeRow());
    }
    const t = data.tasks;
    for (let r = 0; r < this._rows.length; r++) {
      const row = this._rows[r];
      const i = first + r;
      if (i >= last) {
        row.node.hidden = true;
        continue;
      }
      row.node.hidden = false;
      row.index = i;
      row.node.style.top = `${i * ROW_PX}px`;
      row.node.dataset.taskId = data.structure.ids[i];
      row.node.classList.toggle('nj-graph-row-selected', i === this._selected);
      row.node.title = t.reason[i] || data.structure.titles[i] || data.structure.ids[i];
      setText(row.cells[0], data.structure.ids[i]);
      if (row.cells[1].dataset.status !== knownStatus(t.status[i]) || row.cells[1].textContent !== t.status[i]) {
        paintBadge(row.cells[1], t.status[i]);
      }
      setText(row.cells[2], t.exit_code[i] === null || t.exit_code[i] === undefined ? '' : String(t.exit_code[i]));
      setText(row.cells[3], when(t.started_at[i]));
      setText(row.cells[4], when(t.finished_at[i]));
    }
  }

  private _makeRow(): { node: HTMLDivElement; cells: HTMLSpanElement[]; index: number } {
    const node = document.createElement('div');
    node.className = 'nj-graph-row nj-graph-task';
    const cells = COLUMNS.map(() => document.createElement('span'));
    node.append(...cells);
    const row = { node, cells, index: -1 };
    node.addEventListener('click', () => this._onPick(row.index));
    this._body.append(node);
    return row;
  }

  private _body: HTMLDivElement;
  private _data: IBakeGraph | null = null;
  private _onPick: (task: number) => void;
  private _rows: { node: HTMLDivElement; cells: HTMLSpanElement[]; index: number }[] = [];
  private _scroll: HTMLDivElement;
  private _selected = -1;
}

function setText(node: HTMLElement, text: string): void {
  if (node.textContent !== text) {
    node.textContent = text;
  }
}
