/**
 * The bake graph component: a canvas drawing of the graph laid out by dagre (in a worker),
 * with pan and zoom (wheel, drag, buttons, keys), fit-to-view and reset, an overview map when
 * the graph is larger than the view, search by task id, the selected node highlighted with
 * its needs and dependents, and collapsible matrix groups and action calls.
 *
 * A status change recolours nodes in place (one repaint, no layout); only a change of what is
 * drawn (new tasks, a group expanded or collapsed) is laid out again, off the main thread.
 * Text drawn on the canvas never goes through HTML.
 */
import { statusColor, STATUSES, textColor } from './colors';
import {
  buildDrawn,
  callTasks,
  drawnStatuses,
  groupOf,
  IDrawnGraph,
  innermostGroups,
  statusCounts
} from './drawn';
import { ILayoutResult, LayoutClient } from './layout';
import { IGraphStructure } from './types';

/** What is selected: a task or a collapsed group. */
export type Selection = { task: number } | { group: number };

/** Groups start collapsed when a graph has more tasks than this. */
export const COLLAPSE_ABOVE = 300;

const MIN_ZOOM = 0.02;
const MAX_ZOOM = 4;
const FONT_PX = 12;
const TEXT_MIN_PX = 5; // below this on screen, labels are not drawn
const MINI_W = 180;
const MINI_H = 120;

interface ISizes {
  taskW: number;
  taskH: number;
  groupW: number;
  groupH: number;
}

const SIZES: Record<'LR' | 'TB', ISizes> = {
  LR: { taskW: 160, taskH: 28, groupW: 200, groupH: 40 },
  TB: { taskW: 140, taskH: 26, groupW: 170, groupH: 38 }
};

/** Options of the component. */
export interface IGraphViewOptions {
  /** Layers left to right (the notebook) or top to bottom (the narrow sidebar). */
  direction?: 'LR' | 'TB';
  /** Called when the user selects a node (null: the selection was cleared). */
  onSelect?: (selection: Selection | null) => void;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = cls;
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

function button(label: string, cls: string, title: string, action: () => void): HTMLButtonElement {
  const node = el('button', `nj-graph-button ${cls}`, label);
  node.type = 'button';
  node.title = title;
  node.addEventListener('click', event => {
    event.stopPropagation();
    action();
  });
  return node;
}

/** The graph component. Put `node` in the page, then call `setGraph`. */
export class GraphView {
  constructor(options: IGraphViewOptions = {}) {
    this._direction = options.direction ?? 'LR';
    this._sizes = SIZES[this._direction];
    this._onSelect = options.onSelect ?? (() => undefined);
    this.node = el('div', 'nj-graph-view');
    (this.node as unknown as { njGraph: GraphView }).njGraph = this;
    this.node.dataset.layout = 'empty';

    const bar = el('div', 'nj-graph-toolbar');
    this._search = el('input', 'nj-graph-search');
    this._search.type = 'search';
    this._search.placeholder = 'Find a task by id…';
    this._search.setAttribute('aria-label', 'Find a task by id');
    this._search.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        event.preventDefault();
        this.find(this._search.value, event.shiftKey ? -1 : 1);
      }
    });
    this._found = el('span', 'nj-graph-found');
    this._expandAll = button('Expand all', 'nj-graph-expand-all', 'Draw the tasks of every matrix group and action call', () => this.expandAll());
    this._collapseAll = button('Collapse all', 'nj-graph-collapse-all', 'Draw every matrix group and action call as one node', () => this.collapseAll());
    bar.append(
      this._search,
      this._found,
      button('−', 'nj-graph-zoom-out', 'Zoom out (-)', () => this.zoomBy(1 / 1.25)),
      button('+', 'nj-graph-zoom-in', 'Zoom in (+)', () => this.zoomBy(1.25)),
      button('Fit', 'nj-graph-fit', 'Fit the whole graph in the view (f)', () => this.fit()),
      button('1:1', 'nj-graph-reset', 'Reset: 100 % at the start of the graph (0)', () => this.reset()),
      this._expandAll,
      this._collapseAll
    );
    this._note = el('div', 'nj-graph-note');
    this._stage = el('div', 'nj-graph-stage');
    this._canvas = el('canvas', 'nj-graph-canvas');
    this._canvas.tabIndex = 0;
    this._canvas.setAttribute('role', 'img');
    this._canvas.setAttribute('aria-label', 'Task graph');
    this._mini = el('canvas', 'nj-graph-minimap');
    this._mini.title = 'Overview: click or drag to move the view';
    this._tip = el('div', 'nj-graph-tip');
    this._stage.append(this._canvas, this._mini, this._tip, this._note);
    this.node.append(bar, this._stage);
    this._bindEvents();
    this._resize = new ResizeObserver(() => this._sizeCanvas());
    this._resize.observe(this._stage);
  }

  /** The component's element. */
  readonly node: HTMLDivElement;

  /** Groups drawn as one node (indexes into the structure's groups). */
  readonly collapsed = new Set<number>();

  /** The current structure (null before the first `setGraph`). */
  get structure(): IGraphStructure | null {
    return this._structure;
  }

  /** What is selected. */
  get selection(): Selection | null {
    return this._selection;
  }

  /** The zoom factor (1: 100 %). */
  get zoom(): number {
    return this._k;
  }

  /**
   * Show a graph and its tasks' statuses. A structure with the same `key` only recolours;
   * a new one keeps the collapsed groups (by id) and lays out again in the worker.
   */
  setGraph(structure: IGraphStructure, statuses: string[]): void {
    this._statuses = statuses;
    if (this._structure && structure.key === this._structure.key) {
      this.setStatuses(statuses);
      return;
    }
    const old = this._structure;
    const wasCollapsed = new Set([...this.collapsed].map(g => old?.groups[g]?.id));
    const seen = new Set(old?.groups.map(g => g.id) ?? []);
    this._structure = structure;
    this._inner = innermostGroups(structure);
    this._calls = callTasks(structure);
    this.collapsed.clear();
    const many = structure.ids.length > COLLAPSE_ABOVE;
    structure.groups.forEach((group, g) => {
      if (wasCollapsed.has(group.id) || (!seen.has(group.id) && many)) {
        this.collapsed.add(g);
      }
    });
    this._fixSelection(old);
    this._relayout();
  }

  /** Recolour the nodes from new statuses (no layout). */
  setStatuses(statuses: string[]): void {
    this._statuses = statuses;
    if (!this._drawn || !this._structure) {
      return;
    }
    this._colors = this._shownColors();
    this._miniDirty = true;
    this._schedule();
  }

  /** Select a task or group (and centre on it with `center`); null clears the selection. */
  select(selection: Selection | null, center = false): void {
    this._selection = selection;
    this._updateHighlight();
    this.node.dataset.selected = this._selectionId();
    if (center) {
      this._centerOnSelection();
    }
    this._schedule();
  }

  /**
   * Find a task whose id is `text` (or the next one containing it, after the current
   * selection; `step` -1 searches backwards), expand the groups hiding it, select it and
   * centre the view on it. Returns its index, or -1.
   */
  find(text: string, step = 1): number {
    const s = this._structure;
    const query = text.trim().toLowerCase();
    if (!s || !query) {
      this._found.textContent = '';
      return -1;
    }
    const ids = s.ids;
    let index = ids.findIndex(id => id.toLowerCase() === query);
    let matches = index >= 0 ? 1 : 0;
    if (index < 0) {
      const current = this._selection && 'task' in this._selection ? this._selection.task : -1;
      const n = ids.length;
      for (let k = 1; k <= n; k++) {
        const i = (((current + k * step) % n) + n) % n;
        if (ids[i].toLowerCase().includes(query)) {
          if (index < 0) {
            index = i;
          }
          matches++;
        }
      }
    }
    if (index < 0) {
      this._found.textContent = 'no task matches';
      this.node.dataset.found = '';
      return -1;
    }
    this._found.textContent = matches > 1 ? `${matches} match (Enter: next)` : '';
    this.node.dataset.found = ids[index];
    this.reveal(index);
    this.select({ task: index }, true);
    this._onSelect({ task: index });
    return index;
  }

  /** Expand every collapsed group that hides a task. */
  reveal(task: number): void {
    const s = this._structure;
    if (!s) {
      return;
    }
    let changed = false;
    for (let g = this._inner[task]; g >= 0; g = s.groups[g].parent) {
      changed = this.collapsed.delete(g) || changed;
    }
    if (changed) {
      this._relayout();
    }
  }

  /** Expand a group (draw its tasks). */
  expand(group: number): void {
    if (this.collapsed.delete(group)) {
      if (this._selection && 'group' in this._selection && this._selection.group === group) {
        const first = this._structure!.groups[group].members[0];
        this._selection = { task: first };
        this._onSelect(this._selection);
      }
      this._relayout();
    }
  }

  /** Collapse a group into one node. */
  collapse(group: number): void {
    if (!this.collapsed.has(group)) {
      this.collapsed.add(group);
      this._relayout();
    }
  }

  expandAll(): void {
    this.collapsed.clear();
    this._relayout();
  }

  collapseAll(): void {
    this._structure?.groups.forEach((_, g) => this.collapsed.add(g));
    this._relayout();
  }

  /** Zoom by a factor around the view's centre (or a point in the canvas). */
  zoomBy(factor: number, cx?: number, cy?: number): void {
    const x = cx ?? this._w / 2;
    const y = cy ?? this._h / 2;
    const k = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this._k * factor));
    this._tx = x - ((x - this._tx) * k) / this._k;
    this._ty = y - ((y - this._ty) * k) / this._k;
    this._k = k;
    this._schedule();
  }

  /** Fit the whole graph in the view (never above 100 %). */
  fit(): void {
    const l = this._layout;
    if (!l || !this._w || !this._h) {
      return;
    }
    const width = Math.max(l.width, 1);
    const height = Math.max(l.height, 1);
    const k = Math.max(MIN_ZOOM, Math.min(1, (this._w - 8) / width, (this._h - 8) / height));
    this._k = k;
    this._tx = (this._w - l.width * k) / 2;
    this._ty = (this._h - l.height * k) / 2;
    this._schedule();
  }

  /** 100 %, at the start of the graph (its first layer, centred across). */
  reset(): void {
    const l = this._layout;
    if (!l) {
      return;
    }
    this._k = 1;
    if (this._direction === 'LR') {
      this._tx = 0;
      this._ty = l.height <= this._h ? (this._h - l.height) / 2 : 0;
    } else {
      this._ty = 0;
      this._tx = l.width <= this._w ? (this._w - l.width) / 2 : 0;
    }
    this._schedule();
  }

  /** Where a task's (or the group hiding it) node is on the screen (client coordinates), or
   * null while it is not laid out. Used by tests and the benchmark. */
  clientPointOf(taskId: string): { x: number; y: number } | null {
    const i = this._shownIndex.get(taskId) ?? -1;
    if (i < 0 || !this._drawn || !this._layout) {
      return null;
    }
    const node = this._drawn.nodeOf[i];
    const rect = this._canvas.getBoundingClientRect();
    return {
      x: rect.left + this._layout.x[node] * this._k + this._tx,
      y: rect.top + this._layout.y[node] * this._k + this._ty
    };
  }

  /** Redraw now (normally done on the next animation frame). */
  paint(): void {
    this._frame = 0;
    this._draw();
  }

  dispose(): void {
    this._resize.disconnect();
    this._layouts.dispose();
    if (this._frame) {
      cancelAnimationFrame(this._frame);
    }
  }

  // ------------------------------------------------------------------------------ layout

  private _relayout(): void {
    const s = this._structure;
    if (!s) {
      return;
    }
    const drawn = buildDrawn(s, this.collapsed, this._inner);
    this._expandAll.hidden = !this.collapsed.size;
    this._collapseAll.hidden = !s.groups.length || this.collapsed.size === s.groups.length;
    const cached = this._cache.get(`${this._direction}:${drawn.key}`);
    if (cached) {
      this._install(drawn, cached, s);
      return;
    }
    const sizes = this._sizes;
    const widths = new Float64Array(drawn.count);
    const heights = new Float64Array(drawn.count);
    for (let i = 0; i < drawn.count; i++) {
      const group = drawn.ref[i] < 0;
      widths[i] = group ? sizes.groupW : sizes.taskW;
      heights[i] = group ? sizes.groupH : sizes.taskH;
    }
    this.node.dataset.layout = 'pending';
    const count = drawn.count.toLocaleString('en');
    this._note.textContent = `Laying out ${count} node${drawn.count === 1 ? '' : 's'}…`;
    this._note.hidden = false;
    this._layouts
      .layout({ direction: this._direction, widths, heights, edges: drawn.edges.slice() })
      .then(
        result => {
          if (result && this._structure === s) {
            this._cache.set(`${this._direction}:${drawn.key}`, result);
            if (this._cache.size > 6) {
              this._cache.delete(this._cache.keys().next().value as string);
            }
            this._install(drawn, result, s);
          }
        },
        (error: Error) => {
          this.node.dataset.layout = 'error';
          this._note.textContent = `The graph cannot be laid out: ${error.message}`;
        }
      );
  }

  private _install(drawn: IDrawnGraph, layout: ILayoutResult, shown: IGraphStructure): void {
    const first = !this._layout || this._layout.x.length === 0; // the first graph with tasks
    const anchor = this._anchor();
    this._drawn = drawn;
    this._layout = layout;
    this._shown = shown;
    this._shownIndex = new Map(shown.ids.map((id, i) => [id, i]));
    this._labels = this._fitLabels(drawn);
    this._colors = this._shownColors();
    this._updateHighlight();
    this._miniDirty = true;
    this._note.textContent = drawn.count ? '' : 'No tasks yet.';
    this._note.hidden = drawn.count > 0;
    this.node.dataset.layout = 'ready';
    this.node.dataset.nodes = String(drawn.count);
    this.node.dataset.layoutMillis = String(layout.millis);
    this._fitHeight(layout);
    if (first) {
      this._initialView();
    } else if (this._pendingCenter) {
      this._centerOnSelection();
    } else if (anchor) {
      this._restoreAnchor(anchor);
    }
    this._pendingCenter = false;
    this.paint();
  }

  /** A small graph gets a lower stage (unless the user resized it): no empty 420 px box. */
  private _fitHeight(layout: ILayoutResult): void {
    const stage = this._stage;
    if (stage.style.height && stage.style.height !== this._autoHeight) {
      return; // resized by hand
    }
    const max = this._direction === 'LR' ? 420 : 320;
    const wanted = `${Math.min(max, Math.max(140, Math.ceil(layout.height) + 24))}px`;
    if (stage.style.height !== wanted) {
      stage.style.height = wanted;
      this._autoHeight = wanted;
      this._sizeCanvas();
    }
  }

  private _initialView(): void {
    const l = this._layout!;
    const fitK = Math.min((this._w - 8) / Math.max(l.width, 1), (this._h - 8) / Math.max(l.height, 1));
    if (fitK >= 0.6 || !this._w) {
      this.fit();
    } else {
      this.reset();
    }
  }

  /** A task shown now and where it is on the screen, to keep it in place after a layout. */
  private _anchor(): { task: number; sx: number; sy: number } | null {
    if (!this._drawn || !this._layout || !this._structure) {
      return null;
    }
    let node = -1;
    if (this._selection) {
      node = this._nodeOfSelection();
    }
    if (node < 0) {
      return null;
    }
    const r = this._drawn.ref[node];
    const shown = this._shown!;
    const task = this._structure.ids.indexOf(
      shown.ids[r >= 0 ? r : shown.groups[groupOf(r)].members[0]]
    );
    if (task < 0) {
      return null;
    }
    return {
      task,
      sx: this._layout.x[node] * this._k + this._tx,
      sy: this._layout.y[node] * this._k + this._ty
    };
  }

  private _restoreAnchor(anchor: { task: number; sx: number; sy: number }): void {
    const node = this._drawn!.nodeOf[this._shownIndex.get(this._structure!.ids[anchor.task]) ?? -1];
    if (node === undefined) {
      return;
    }
    this._tx = anchor.sx - this._layout!.x[node] * this._k;
    this._ty = anchor.sy - this._layout!.y[node] * this._k;
  }

  /** The statuses of the shown structure's tasks: the latest ones, matched by id while a new
   * structure waits for its layout. */
  private _shownStatuses(): string[] {
    const shown = this._shown;
    const current = this._structure;
    if (!shown || !current || shown === current) {
      return this._statuses;
    }
    const index = new Map(current.ids.map((id, i) => [id, i]));
    return shown.ids.map(id => this._statuses[index.get(id) ?? -1] ?? 'unknown');
  }

  private _shownColors(): string[] {
    const shown = this._shown!;
    const calls = shown === this._structure ? this._calls : callTasks(shown);
    return drawnStatuses(this._drawn!, shown, this._shownStatuses(), calls);
  }

  /** A selection in the shown structure's terms, as one in the current structure's. */
  private _toCurrent(selection: Selection): Selection | null {
    const shown = this._shown;
    const current = this._structure;
    if (!shown || !current || shown === current) {
      return selection;
    }
    if ('task' in selection) {
      const i = current.ids.indexOf(shown.ids[selection.task]);
      return i >= 0 ? { task: i } : null;
    }
    const g = current.groups.findIndex(x => x.id === shown.groups[selection.group].id);
    return g >= 0 ? { group: g } : null;
  }

  private _fitLabels(drawn: IDrawnGraph): string[] {
    const ctx = this._canvas.getContext('2d');
    if (!ctx) {
      return drawn.labels;
    }
    ctx.font = this._font();
    const out = new Array<string>(drawn.count);
    for (let i = 0; i < drawn.count; i++) {
      const max = (drawn.ref[i] < 0 ? this._sizes.groupW : this._sizes.taskW) - 16;
      out[i] = ellipsize(ctx, drawn.labels[i], max);
    }
    return out;
  }

  private _font(): string {
    if (!this._fontFamily) {
      this._fontFamily = getComputedStyle(this.node).fontFamily || 'sans-serif';
    }
    return `${FONT_PX}px ${this._fontFamily}`;
  }

  // --------------------------------------------------------------------------- selection

  private _fixSelection(old: IGraphStructure | null): void {
    const sel = this._selection;
    const s = this._structure!;
    if (!sel || !old) {
      return;
    }
    if ('task' in sel) {
      const i = s.ids.indexOf(old.ids[sel.task]);
      this._selection = i >= 0 ? { task: i } : null;
    } else {
      const id = old.groups[sel.group]?.id;
      const g = s.groups.findIndex(group => group.id === id);
      this._selection = g >= 0 ? { group: g } : null;
    }
  }

  private _nodeOfSelection(): number {
    const sel = this._selection;
    const d = this._drawn;
    const shown = this._shown;
    if (!sel || !d || !shown) {
      return -1;
    }
    const id = this._selectionId();
    if ('task' in sel) {
      const i = this._shownIndex.get(id);
      return i === undefined ? -1 : d.nodeOf[i];
    }
    const g = shown.groups.findIndex(x => x.id === id);
    return g < 0 ? -1 : d.ref.indexOf(-1 - g);
  }

  private _selectionId(): string {
    const sel = this._selection;
    const s = this._structure;
    if (!sel || !s) {
      return '';
    }
    return 'task' in sel ? s.ids[sel.task] ?? '' : s.groups[sel.group]?.id ?? '';
  }

  private _updateHighlight(): void {
    this._near.clear();
    this._selectedNode = this._nodeOfSelection();
    const d = this._drawn;
    if (this._selectedNode < 0 || !d) {
      return;
    }
    const e = d.edges;
    for (let k = 0; k + 1 < e.length; k += 2) {
      if (e[k] === this._selectedNode) {
        this._near.set(e[k + 1], 'dependent');
      } else if (e[k + 1] === this._selectedNode) {
        this._near.set(e[k], 'need');
      }
    }
  }

  private _centerOnSelection(): void {
    const node = this._nodeOfSelection();
    if (node < 0 || !this._layout || this.node.dataset.layout === 'pending') {
      this._pendingCenter = true; // once the graph that shows it is laid out
      return;
    }
    if (this._k < 0.6) {
      this._k = 1;
    }
    this._tx = this._w / 2 - this._layout.x[node] * this._k;
    this._ty = this._h / 2 - this._layout.y[node] * this._k;
    this._schedule();
  }

  // ------------------------------------------------------------------------------ events

  private _bindEvents(): void {
    const c = this._canvas;
    let down: { x: number; y: number; tx: number; ty: number; moved: boolean } | null = null;
    c.addEventListener('pointerdown', event => {
      if (event.button !== 0) {
        return;
      }
      c.setPointerCapture(event.pointerId);
      down = { x: event.clientX, y: event.clientY, tx: this._tx, ty: this._ty, moved: false };
    });
    c.addEventListener('pointermove', event => {
      if (down) {
        const dx = event.clientX - down.x;
        const dy = event.clientY - down.y;
        if (down.moved || Math.abs(dx) + Math.abs(dy) > 3) {
          down.moved = true;
          this._tx = down.tx + dx;
          this._ty = down.ty + dy;
          c.classList.add('nj-graph-dragging');
          this._schedule();
        }
        return;
      }
      this._hover(event);
    });
    const up = (event: PointerEvent) => {
      if (!down) {
        return;
      }
      const click = !down.moved;
      down = null;
      c.classList.remove('nj-graph-dragging');
      if (click) {
        this._click(event);
      }
    };
    c.addEventListener('pointerup', up);
    c.addEventListener('pointercancel', () => {
      down = null;
    });
    c.addEventListener('pointerleave', () => {
      this._tip.hidden = true;
    });
    c.addEventListener('dblclick', event => {
      const node = this._hit(event);
      const r = node >= 0 ? this._drawn!.ref[node] : 0;
      const picked = r < 0 ? this._toCurrent({ group: groupOf(r) }) : null;
      if (picked && 'group' in picked) {
        this.expand(picked.group);
      }
    });
    c.addEventListener(
      'wheel',
      event => {
        event.preventDefault();
        const rect = c.getBoundingClientRect();
        if (!event.ctrlKey && Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
          this._tx -= event.deltaX;
          this._schedule();
          return;
        }
        const unit = event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? 400 : 1;
        const factor = Math.exp((-event.deltaY * unit * (event.ctrlKey ? 10 : 1)) / 600);
        this.zoomBy(factor, event.clientX - rect.left, event.clientY - rect.top);
      },
      { passive: false }
    );
    c.addEventListener('keydown', event => {
      const keys: Record<string, () => void> = {
        '+': () => this.zoomBy(1.25),
        '=': () => this.zoomBy(1.25),
        '-': () => this.zoomBy(1 / 1.25),
        '0': () => this.reset(),
        f: () => this.fit(),
        ArrowLeft: () => this._pan(60, 0),
        ArrowRight: () => this._pan(-60, 0),
        ArrowUp: () => this._pan(0, 60),
        ArrowDown: () => this._pan(0, -60),
        Escape: () => {
          this.select(null);
          this._onSelect(null);
        }
      };
      const action = keys[event.key];
      if (action) {
        event.preventDefault();
        action();
      }
    });
    let miniDown = false;
    const moveTo = (event: PointerEvent) => {
      const l = this._layout;
      if (!l) {
        return;
      }
      const rect = this._mini.getBoundingClientRect();
      const scale = this._miniScale;
      const wx = (event.clientX - rect.left - this._miniOffset.x) / scale;
      const wy = (event.clientY - rect.top - this._miniOffset.y) / scale;
      this._tx = this._w / 2 - wx * this._k;
      this._ty = this._h / 2 - wy * this._k;
      this._schedule();
    };
    this._mini.addEventListener('pointerdown', event => {
      miniDown = true;
      this._mini.setPointerCapture(event.pointerId);
      moveTo(event);
    });
    this._mini.addEventListener('pointermove', event => miniDown && moveTo(event));
    this._mini.addEventListener('pointerup', () => {
      miniDown = false;
    });
  }

  private _pan(dx: number, dy: number): void {
    this._tx += dx;
    this._ty += dy;
    this._schedule();
  }

  /** The node under a pointer event, or -1. */
  private _hit(event: MouseEvent): number {
    const d = this._drawn;
    const l = this._layout;
    if (!d || !l) {
      return -1;
    }
    const rect = this._canvas.getBoundingClientRect();
    const wx = (event.clientX - rect.left - this._tx) / this._k;
    const wy = (event.clientY - rect.top - this._ty) / this._k;
    const s = this._sizes;
    for (let i = d.count - 1; i >= 0; i--) {
      const group = d.ref[i] < 0;
      const hw = (group ? s.groupW : s.taskW) / 2;
      const hh = (group ? s.groupH : s.taskH) / 2;
      if (Math.abs(wx - l.x[i]) <= hw && Math.abs(wy - l.y[i]) <= hh) {
        return i;
      }
    }
    return -1;
  }

  private _click(event: MouseEvent): void {
    this._canvas.focus({ preventScroll: true });
    const node = this._hit(event);
    if (node < 0) {
      return;
    }
    const r = this._drawn!.ref[node];
    const picked = this._toCurrent(r >= 0 ? { task: r } : { group: groupOf(r) });
    const same = node === this._selectedNode || !picked;
    this.select(same ? null : picked);
    this._onSelect(same ? null : picked);
  }

  private _hover(event: MouseEvent): void {
    const node = this._hit(event);
    if (node < 0) {
      this._tip.hidden = true;
      this._canvas.style.cursor = '';
      return;
    }
    this._canvas.style.cursor = 'pointer';
    const s = this._shown!;
    const d = this._drawn!;
    const r = d.ref[node];
    const statuses = this._shownStatuses();
    let text: string;
    if (r >= 0) {
      const title = s.titles[r] && s.titles[r] !== s.ids[r] ? ` — ${s.titles[r]}` : '';
      text = `${s.ids[r]}${title}: ${statuses[r] ?? 'unknown'}`;
    } else {
      const g = s.groups[groupOf(r)];
      const counts = statusCounts(d.members[node], statuses);
      const parts = STATUSES.filter(st => counts.get(st)).map(st => `${counts.get(st)} ${st}`);
      text = `${g.label}: ${parts.join(', ')} — double-click to expand`;
    }
    this._tip.textContent = text;
    const rect = this._stage.getBoundingClientRect();
    this._tip.style.left = `${Math.min(event.clientX - rect.left + 12, this._w - 220)}px`;
    this._tip.style.top = `${event.clientY - rect.top + 14}px`;
    this._tip.hidden = false;
  }

  // ----------------------------------------------------------------------------- drawing

  private _sizeCanvas(): void {
    const rect = this._stage.getBoundingClientRect();
    const w = Math.max(1, Math.round(rect.width));
    const h = Math.max(1, Math.round(rect.height));
    if (w === this._w && h === this._h) {
      return;
    }
    const firstSize = !this._w;
    this._w = w;
    this._h = h;
    const dpr = window.devicePixelRatio || 1;
    this._canvas.width = Math.round(w * dpr);
    this._canvas.height = Math.round(h * dpr);
    this._canvas.style.width = `${w}px`;
    this._canvas.style.height = `${h}px`;
    if (firstSize && this._layout) {
      this._initialView();
    }
    this.paint();
  }

  private _schedule(): void {
    if (!this._frame) {
      this._frame = requestAnimationFrame(() => this.paint());
    }
  }

  private _draw(): void {
    const started = performance.now();
    const ctx = this._canvas.getContext('2d');
    const d = this._drawn;
    const l = this._layout;
    if (!ctx) {
      return;
    }
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this._canvas.width, this._canvas.height);
    this.node.dataset.zoom = this._k.toFixed(3);
    if (!d || !l) {
      return;
    }
    const k = this._k;
    ctx.setTransform(dpr * k, 0, 0, dpr * k, dpr * this._tx, dpr * this._ty);
    // the visible part of the world
    const x0 = -this._tx / k;
    const y0 = -this._ty / k;
    const x1 = x0 + this._w / k;
    const y1 = y0 + this._h / k;
    const s = this._sizes;
    const sel = this._selectedNode;
    const dim = sel >= 0;

    // edges: unrelated ones first (dimmed when something is selected), then the selected
    // node's, on top
    const e = d.edges;
    const plain = new Path2D();
    const near = new Path2D();
    const heads = new Path2D();
    const nearHeads = new Path2D();
    for (let j = 0; j + 1 < e.length; j += 2) {
      const a = e[j];
      const b = e[j + 1];
      const from = l.pointStart[j / 2];
      const to = l.pointStart[j / 2 + 1];
      if (to - from < 2) {
        continue;
      }
      let minX = Infinity;
      let minY = Infinity;
      let maxX = -Infinity;
      let maxY = -Infinity;
      for (let p = from; p < to; p++) {
        const px = l.points[2 * p];
        const py = l.points[2 * p + 1];
        minX = Math.min(minX, px);
        maxX = Math.max(maxX, px);
        minY = Math.min(minY, py);
        maxY = Math.max(maxY, py);
      }
      if (maxX < x0 || minX > x1 || maxY < y0 || minY > y1) {
        continue;
      }
      const mine = dim && (a === sel || b === sel);
      const path = mine ? near : plain;
      path.moveTo(l.points[2 * from], l.points[2 * from + 1]);
      for (let p = from + 1; p < to; p++) {
        path.lineTo(l.points[2 * p], l.points[2 * p + 1]);
      }
      if (k > 0.25) {
        arrowHead(mine ? nearHeads : heads, l.points, to - 2, to - 1);
      }
    }
    ctx.lineWidth = 1.2 / Math.max(k, 0.5);
    ctx.strokeStyle = dim ? 'rgba(128,128,128,0.25)' : 'rgba(110,110,110,0.9)';
    ctx.fillStyle = ctx.strokeStyle;
    ctx.stroke(plain);
    ctx.fill(heads);
    if (dim) {
      ctx.lineWidth = 2.2 / Math.max(k, 0.5);
      ctx.strokeStyle = '#1a5fb4';
      ctx.fillStyle = '#1a5fb4';
      ctx.stroke(near);
      ctx.fill(nearHeads);
    }

    // nodes
    this._barStatuses = this._shownStatuses();
    const text = FONT_PX * k >= TEXT_MIN_PX;
    const detailed = k > 0.15 || d.count < 2000;
    ctx.font = this._font();
    ctx.textBaseline = 'middle';
    for (let i = 0; i < d.count; i++) {
      const group = d.ref[i] < 0;
      const w = group ? s.groupW : s.taskW;
      const h = group ? s.groupH : s.taskH;
      const x = l.x[i] - w / 2;
      const y = l.y[i] - h / 2;
      if (x > x1 || x + w < x0 || y > y1 || y + h < y0) {
        continue;
      }
      const status = this._colors[i] ?? 'unknown';
      const faded = dim && i !== sel && !this._near.has(i);
      ctx.globalAlpha = faded ? 0.3 : 1;
      ctx.fillStyle = statusColor(status);
      if (detailed) {
        ctx.beginPath();
        roundRect(ctx, x, y, w, h, group ? 6 : h / 2);
        ctx.fill();
        if (group) {
          // a collapsed group: a doubled border, and a bar of its members' statuses
          ctx.lineWidth = 1;
          ctx.strokeStyle = 'rgba(0,0,0,0.55)';
          ctx.stroke();
          ctx.beginPath();
          roundRect(ctx, x + 3, y + 3, w - 6, h - 6, 4);
          ctx.stroke();
          this._statusBar(ctx, i, x + 8, y + h - 10, w - 16, 4);
        }
      } else {
        ctx.fillRect(x, y, w, h);
      }
      if (i === sel || this._near.has(i)) {
        ctx.lineWidth = (i === sel ? 3 : 2) / Math.max(k, 0.5);
        ctx.strokeStyle = i === sel ? '#111' : '#1a5fb4';
        ctx.beginPath();
        roundRect(ctx, x - 2, y - 2, w + 4, h + 4, group ? 7 : h / 2 + 2);
        ctx.stroke();
      }
      if (text && detailed) {
        ctx.fillStyle = textColor(status);
        ctx.fillText(this._labels[i], x + 8, group ? y + 14 : y + h / 2 + 0.5);
      }
    }
    ctx.globalAlpha = 1;
    this._barStatuses = [];
    this._drawMini();
    this.paintCount++;
    const ended = performance.now();
    this.lastPaintMillis = ended - started;
    // for the benchmark (bench/browser_bake_graph.py); nothing listens otherwise
    this.node.dispatchEvent(
      new CustomEvent('nj-graph-paint', { bubbles: true, detail: { started, ended, nodes: d.count } })
    );
    if (!this._firstPaintMarked) {
      this._firstPaintMarked = true;
      performance.mark('nj-graph-first-paint');
    }
  }

  private _statusBar(ctx: CanvasRenderingContext2D, node: number, x: number, y: number, w: number, h: number): void {
    const members = this._drawn!.members[node];
    const counts = statusCounts(members, this._barStatuses);
    let at = x;
    for (const status of STATUSES) {
      const n = counts.get(status);
      if (!n) {
        continue;
      }
      const part = (w * n) / members.length;
      ctx.fillStyle = statusColor(status);
      ctx.fillRect(at, y, part, h);
      at += part;
    }
    ctx.lineWidth = 0.5;
    ctx.strokeStyle = 'rgba(0,0,0,0.6)';
    ctx.strokeRect(x, y, w, h);
  }

  private _drawMini(): void {
    const l = this._layout;
    const d = this._drawn;
    const big = l && (l.width * this._k > this._w + 1 || l.height * this._k > this._h + 1);
    this._mini.hidden = !big;
    if (!big || !l || !d) {
      return;
    }
    const scale = Math.min(MINI_W / l.width, MINI_H / l.height);
    const mw = Math.max(24, Math.round(l.width * scale));
    const mh = Math.max(24, Math.round(l.height * scale));
    const dpr = window.devicePixelRatio || 1;
    if (this._mini.width !== mw * dpr || this._mini.height !== mh * dpr) {
      this._mini.width = mw * dpr;
      this._mini.height = mh * dpr;
      this._mini.style.width = `${mw}px`;
      this._mini.style.height = `${mh}px`;
      this._miniDirty = true;
    }
    this._miniScale = scale;
    this._miniOffset = { x: (mw - l.width * scale) / 2, y: (mh - l.height * scale) / 2 };
    if (this._miniDirty || !this._miniBase) {
      this._miniBase = this._miniBase ?? document.createElement('canvas');
      this._miniBase.width = this._mini.width;
      this._miniBase.height = this._mini.height;
      const base = this._miniBase.getContext('2d')!;
      base.setTransform(dpr, 0, 0, dpr, 0, 0);
      base.fillStyle = 'rgba(255,255,255,0.92)';
      base.fillRect(0, 0, mw, mh);
      const s = this._sizes;
      for (let i = 0; i < d.count; i++) {
        const group = d.ref[i] < 0;
        const w = Math.max(1, (group ? s.groupW : s.taskW) * scale);
        const h = Math.max(1, (group ? s.groupH : s.taskH) * scale);
        base.fillStyle = statusColor(this._colors[i] ?? 'unknown');
        base.fillRect(
          this._miniOffset.x + l.x[i] * scale - w / 2,
          this._miniOffset.y + l.y[i] * scale - h / 2,
          w,
          h
        );
      }
      this._miniDirty = false;
    }
    const ctx = this._mini.getContext('2d')!;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this._mini.width, this._mini.height);
    ctx.drawImage(this._miniBase, 0, 0);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.strokeStyle = '#1a5fb4';
    ctx.lineWidth = 1.5;
    ctx.strokeRect(
      this._miniOffset.x + (-this._tx / this._k) * scale,
      this._miniOffset.y + (-this._ty / this._k) * scale,
      (this._w / this._k) * scale,
      (this._h / this._k) * scale
    );
  }

  /** How many times the graph was painted, and how long the last paint took (benchmark). */
  paintCount = 0;
  lastPaintMillis = 0;

  private _autoHeight = '';
  private _barStatuses: string[] = [];
  private _shown: IGraphStructure | null = null;
  private _shownIndex = new Map<string, number>();
  private _cache = new Map<string, ILayoutResult>();
  private _calls = new Map<number, number>();
  private _canvas: HTMLCanvasElement;
  private _colors: string[] = [];
  private _direction: 'LR' | 'TB';
  private _drawn: IDrawnGraph | null = null;
  private _firstPaintMarked = false;
  private _fontFamily = '';
  private _found: HTMLSpanElement;
  private _frame = 0;
  private _h = 0;
  private _inner = new Int32Array(0);
  private _k = 1;
  private _labels: string[] = [];
  private _layout: ILayoutResult | null = null;
  private _layouts = new LayoutClient();
  private _mini: HTMLCanvasElement;
  private _miniBase: HTMLCanvasElement | null = null;
  private _miniDirty = true;
  private _miniOffset = { x: 0, y: 0 };
  private _miniScale = 1;
  private _near = new Map<number, 'need' | 'dependent'>();
  private _note: HTMLDivElement;
  private _onSelect: (selection: Selection | null) => void;
  private _pendingCenter = false;
  private _resize: ResizeObserver;
  private _search: HTMLInputElement;
  private _selectedNode = -1;
  private _selection: Selection | null = null;
  private _sizes: ISizes;
  private _stage: HTMLDivElement;
  private _statuses: string[] = [];
  private _structure: IGraphStructure | null = null;
  private _tip: HTMLDivElement;
  private _expandAll: HTMLButtonElement;
  private _collapseAll: HTMLButtonElement;
  private _tx = 0;
  private _ty = 0;
  private _w = 0;
}

/** `text` cut with an ellipsis to fit `max` pixels in the context's font. */
function ellipsize(ctx: CanvasRenderingContext2D, text: string, max: number): string {
  if (ctx.measureText(text).width <= max) {
    return text;
  }
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(text.slice(0, mid) + '…').width <= max) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return text.slice(0, lo) + '…';
}

function roundRect(ctx: CanvasRenderingContext2D | Path2D, x: number, y: number, w: number, h: number, r: number): void {
  const rr = Math.min(r, w / 2, h / 2);
  ctx.moveTo(x + rr, y);
  ctx.arcTo(x + w, y, x + w, y + h, rr);
  ctx.arcTo(x + w, y + h, x, y + h, rr);
  ctx.arcTo(x, y + h, x, y, rr);
  ctx.arcTo(x, y, x + w, y, rr);
  ctx.closePath();
}

function arrowHead(path: Path2D, pts: Float64Array, from: number, to: number): void {
  const x2 = pts[2 * to];
  const y2 = pts[2 * to + 1];
  const angle = Math.atan2(y2 - pts[2 * from + 1], x2 - pts[2 * from]);
  const size = 6;
  path.moveTo(x2, y2);
  path.lineTo(x2 - size * Math.cos(angle - 0.45), y2 - size * Math.sin(angle - 0.45));
  path.lineTo(x2 - size * Math.cos(angle + 0.45), y2 - size * Math.sin(angle + 0.45));
  path.closePath();
}
