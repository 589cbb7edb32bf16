/**
 * A bake attempt's details, the same in the notebook's bake view and the sidebar: progress,
 * legend, the graph component, the selected task's log (opened by a click, closed by its
 * button, a second click or Escape) with a link to the notebook it wrote, and the tasks table.
 * All text from tasks goes into the DOM as text, never as HTML.
 */
import { FINISHED, STATUSES } from './colors';
import { button, el } from './elements';
import { paintBadge, statusBadge, TaskTable } from './table';
import { IBakeGraph, INotebookLink, ITaskLogText } from './types';
import { Selection, GraphView } from './view';

/** Options of the details view. */
export interface IBakeDetailsOptions {
  /** Layers left to right (notebook) or top to bottom (sidebar). */
  direction?: 'LR' | 'TB';
  /** Show the bake's title, result and reason (the notebook; the sidebar has its own). */
  header?: boolean;
  /** Fetch a task's log with `show`'s header lines. */
  fetchLog: (taskId: string, attempt: number) => Promise<ITaskLogText>;
}

const GROUP_LINES = 500;

/** The details view; put `node` in the page and call `update` with each new state. */
export class BakeDetails {
  constructor(options: IBakeDetailsOptions) {
    this._fetchLog = options.fetchLog;
    this.node = document.createElement('div');
    this.node.className = 'nj-graph-details';
    this._header = el('div', 'nj-graph-header');
    this._title = el('span', 'nj-graph-title');
    this._result = statusBadge('pending');
    this._connection = el('span', 'nj-graph-connection');
    this._header.append(this._title, this._result, this._connection);
    this._header.hidden = !options.header;
    this._reason = el('div', 'nj-graph-reason');
    const progress = el('div', 'nj-graph-progress');
    this._bar = el('div', 'nj-graph-progress-bar');
    progress.append(this._bar);
    this._progressText = el('span', 'nj-graph-progress-text');
    const legend = el('div', 'nj-graph-legend');
    for (const status of STATUSES) {
      legend.append(statusBadge(status));
    }
    const info = el('div', 'nj-graph-info');
    info.append(this._progressText, legend);
    this.graph = new GraphView({
      direction: options.direction,
      onSelect: selection => this._selected(selection, true)
    });
    this._log = el('div', 'nj-graph-log-panel');
    this._log.hidden = true;
    this.table = new TaskTable(task => {
      const same = this.graph.selection && 'task' in this.graph.selection && this.graph.selection.task === task;
      const selection = same ? null : { task };
      if (!same) {
        this.graph.reveal(task);
      }
      this.graph.select(selection, !same);
      this.table.select(same ? -1 : task);
      this._selected(selection, false);
    });
    this.node.append(this._header, this._reason, progress, info, this.graph.node, this._log, this.table.node);
  }

  readonly node: HTMLDivElement;
  readonly graph: GraphView;
  readonly table: TaskTable;

  /** The data shown last. */
  get data(): IBakeGraph | null {
    return this._data;
  }

  /** Show a new state of the attempt: recolours in place, lays out again only if tasks were
   * added; an open log of an unfinished task is fetched again. */
  update(data: IBakeGraph): void {
    this.node.dispatchEvent(new CustomEvent('nj-graph-update', { bubbles: true, detail: { at: performance.now() } }));
    const attemptChanged = this._data?.attempt.number !== data.attempt.number;
    this._data = data;
    const att = data.attempt;
    const name = data.bake.name ? ` ${data.bake.name}` : '';
    this._title.textContent = `Bake${name} ${data.bake.bake_id} (${data.bake.batch}), attempt #${att.number}`;
    this._paintResult();
    this._reason.textContent = att.reason;
    this._reason.hidden = !att.reason;
    const statuses = data.tasks.status;
    const counts = new Map<string, number>();
    let finished = 0;
    for (const s of statuses) {
      counts.set(s, (counts.get(s) ?? 0) + 1);
      if (FINISHED.has(s)) {
        finished++;
      }
    }
    const total = statuses.length;
    this._bar.style.width = total ? `${(100 * finished) / total}%` : '0%';
    const extra = ['running', 'pending', 'failed']
      .filter(s => counts.get(s))
      .map(s => `${counts.get(s)} ${s}`);
    this._progressText.textContent = [`${finished}/${total} finished`, ...extra].join(' · ');
    this.node.dataset.result = att.result;
    this.node.dataset.bakeId = data.bake.bake_id;
    this.node.dataset.bakeName = data.bake.name ?? '';
    this.graph.setGraph(data.structure, statuses);
    const sel = this.graph.selection;
    this.table.update(data, sel && 'task' in sel ? sel.task : -1);
    if (!this._log.hidden) {
      const task = sel && 'task' in sel ? sel.task : -1;
      const stale = task >= 0 && (!FINISHED.has(statuses[task]) || this._logStatus !== statuses[task]);
      if (attemptChanged || stale || !sel) {
        this._showSelection(sel);
      } else if (sel && 'group' in sel) {
        this._showSelection(sel);
      }
    }
  }

  /** A line about where the data comes from (the notebook view: live, stale, disconnected). */
  setConnection(text: string, state: string): void {
    this._connection.textContent = text;
    this._connection.dataset.state = state;
    this.node.dataset.connection = state;
    this._paintResult();
  }

  /** The attempt's result; a view that lost its source never shows a frozen "running". */
  private _paintResult(): void {
    const result = this._data?.attempt.result ?? 'pending';
    if (this.node.dataset.connection === 'disconnected') {
      this._result.className = 'nj-graph-badge nj-graph-disconnected';
      this._result.dataset.status = 'disconnected';
      this._result.style.background = '';
      this._result.style.color = '';
      this._result.textContent = `disconnected (was ${result})`;
    } else {
      paintBadge(this._result, result);
    }
  }

  /** Where the table and the log are scrolled (lost when the view leaves the page). */
  scrollState(): { table: number; log: number } {
    const log = this._log.querySelector('pre');
    return { table: this.table.scrollTop, log: log?.scrollTop ?? 0 };
  }

  /** Scroll the table and the log back to where `scrollState` found them. */
  restoreScroll(state: { table: number; log: number }): void {
    this.table.scrollTop = state.table;
    const log = this._log.querySelector('pre');
    if (log) {
      log.scrollTop = state.log;
    }
  }

  /** Close the log and clear the selection. */
  closeLog(): void {
    this.graph.select(null);
    this._selected(null, true);
  }

  dispose(): void {
    this.graph.dispose();
  }

  private _selected(selection: Selection | null, scrollTable: boolean): void {
    const task = selection && 'task' in selection ? selection.task : -1;
    if (scrollTable) {
      this.table.select(task);
    }
    this._showSelection(selection);
  }

  private _showSelection(selection: Selection | null): void {
    const data = this._data;
    if (!selection || !data) {
      this._log.hidden = true;
      this._log.replaceChildren();
      this.node.dataset.log = '';
      this.node.dataset.logLoaded = '';
      this._logFor = '';
      return;
    }
    const s = data.structure;
    const head = el('div', 'nj-graph-log-head');
    const title = el('span', 'nj-graph-log-title');
    const actions = el('span', 'nj-graph-log-actions');
    const close = button('Close', 'nj-graph-log-close', 'Close the log (Esc)', () => this.closeLog());
    const header = el('div', 'nj-graph-log-header');
    const body = document.createElement('pre');
    body.className = 'nj-graph-log';
    if ('group' in selection) {
      const group = s.groups[selection.group];
      title.textContent = group.label;
      actions.append(button('Expand', 'nj-graph-log-expand', 'Draw the tasks of this group', () => this.graph.expand(selection.group)));
      const lines = group.members
        .slice(0, GROUP_LINES)
        .map(m => `${s.ids[m]}: ${data.tasks.status[m]}${data.tasks.reason[m] ? ` (${data.tasks.reason[m]})` : ''}`);
      if (group.members.length > GROUP_LINES) {
        lines.push(`… and ${group.members.length - GROUP_LINES} more`);
      }
      header.textContent = `${group.members.length} tasks; select one (or search its id) for its log`;
      body.textContent = lines.join('\n');
      this._logFor = group.id;
    } else {
      const i = selection.task;
      const id = s.ids[i];
      const inGroup = this._enclosingGroup(i);
      title.textContent = `Log of ${id}` + (inGroup >= 0 ? ` — in ${s.groups[inGroup].label}` : '');
      if (inGroup >= 0) {
        actions.append(button('Collapse group', 'nj-graph-log-collapse', `Draw ${s.groups[inGroup].label} as one node`, () => this.graph.collapse(inGroup)));
      }
      const notebook = data.tasks.notebook?.[i];
      if (notebook) {
        actions.append(notebookLink(notebook));
      }
      if (this._logFor !== id) {
        this.node.dataset.logLoaded = '';
      }
      const previous = this._logFor === id ? this._log.querySelector('pre.nj-graph-log') : null;
      const atEnd = !previous || previous.scrollTop + previous.clientHeight >= previous.scrollHeight - 4;
      body.textContent = previous?.textContent ?? 'Loading…';
      header.textContent = this._logFor === id ? this._log.querySelector('.nj-graph-log-header')?.textContent ?? '' : '';
      this._logFor = id;
      this._logStatus = data.tasks.status[i];
      void this._load(id, data.attempt.number, body, header, atEnd);
    }
    head.append(title, actions, close);
    this._log.replaceChildren(head, header, body);
    this._log.hidden = false;
    this.node.dataset.log = this._logFor;
  }

  private async _load(id: string, attempt: number, body: HTMLPreElement, header: HTMLElement, atEnd: boolean): Promise<void> {
    const seq = ++this._logSeq;
    try {
      const log = await this._fetchLog(id, attempt);
      if (seq !== this._logSeq) {
        return;
      }
      header.textContent = log.header;
      body.textContent = log.text;
      if (atEnd) {
        body.scrollTop = body.scrollHeight;
      }
      this.node.dataset.logLoaded = id;
    } catch (error) {
      if (seq === this._logSeq) {
        body.textContent = `The log cannot be read: ${(error as Error).message ?? error}`;
      }
    }
  }

  /** The innermost group (expanded, since the task is drawn) holding a task, or -1. */
  private _enclosingGroup(task: number): number {
    const groups = this._data!.structure.groups;
    for (let g = groups.length - 1; g >= 0; g--) {
      if (groups[g].members.includes(task)) {
        return g;
      }
    }
    return -1;
  }

  private _bar: HTMLDivElement;
  private _connection: HTMLSpanElement;
  private _data: IBakeGraph | null = null;
  private _fetchLog: (taskId: string, attempt: number) => Promise<ITaskLogText>;
  private _header: HTMLDivElement;
  private _log: HTMLDivElement;
  private _logFor = '';
  private _logSeq = 0;
  private _logStatus = '';
  private _progressText: HTMLSpanElement;
  private _reason: HTMLDivElement;
  private _result: HTMLSpanElement;
  private _title: HTMLSpanElement;
}

/** A link opening a task's executed notebook: in JupyterLab when it can, else its HTML. */
export function notebookLink(notebook: INotebookLink): HTMLElement {
  const box = el('span', 'nj-graph-notebook');
  const add = (label: string, url: string, title: string) => {
    const a = document.createElement('a');
    a.className = 'nj-graph-notebook-link';
    a.textContent = label;
    a.href = url;
    a.target = '_blank';
    a.rel = 'noopener';
    a.title = title;
    box.append(a);
  };
  if (notebook.lab_url) {
    add('Open notebook', notebook.lab_url, `Open ${notebook.path} in JupyterLab`);
  }
  if (notebook.html_url) {
    add(notebook.lab_url ? 'HTML' : 'Open notebook', notebook.html_url, `${notebook.path} as a page`);
  }
  if (!box.childNodes.length) {
    box.textContent = `Notebook: ${notebook.path}`;
  }
  return box;
}
