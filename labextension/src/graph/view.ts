/**
 * The bake graph component: a canvas drawing of the graph laid out by dagre (in a worker),
 * with pan and zoom (wheel, drag, buttons, keys), fit-to-view and reset, an overview map when
 * the graph is larger than the view, search by task id, the selected node highlighted with
 * its needs and dependents, and collapsible matrix groups and action calls.
 *
 * A status change recolours nodes in place (one repaint, no layout); only a change of what is
 * drawn (new tasks, a group expanded or collapsed) is laid out again, off the main thread, and
 * its result is installed in short slices (scene, then paint, then overview), so that even a
 * 10,000-node graph never blocks the page for long. Text drawn on the canvas never goes
 * through HTML.
 *
 * The parts live in their own modules: the view's transform (viewport), what is on the canvas
 * (scene, spatial), painting (paint, labels), the overview, input (input, toolbar), search,
 * the selection and the collapsed groups.
 */
import { buildDrawn, callTasks, drawnStatuses, groupOf, IDrawnGraph, innermostGroups } from './drawn';
import { el } from './elements';
import { bindCanvas } from './input';
import { LabelFitter } from './labels';
import { ILayoutResult, LayoutClient } from './layout';
import { Overview } from './overview';
import { FONT_PX, paintScene } from './paint';
import { Scene, SIZES, ISizes } from './scene';
import { yieldToPage } from './schedule';
import { findTask } from './search';
import { carryCollapsed, openAround } from './collapse';
import { carrySelection, neighbours, nodeOfSelection, Relation, Selection, selectionId } from './selection';
import { Toolbar } from './toolbar';
import { nodeTip } from './tooltip';
import { IGraphStructure } from './types';
import { Viewport } from './viewport';

export type { Selection } from './selection';
export { COLLAPSE_ABOVE } from './collapse';

/** Layouts kept per view (by drawn graph), so that collapsing back is instant. */
const CACHED_LAYOUTS = 6;

/** Options of the component. */
export interface IGraphViewOptions {
  /** Layers left to right (the notebook) or top to bottom (the narrow sidebar). */
  direction?: 'LR' | 'TB';
  /** Called when the user selects a node (null: the selection was cleared). */
  onSelect?: (selection: Selection | null) => void;
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

    this._toolbar = new Toolbar({
      find: (text, step) => this.find(text, step),
      zoomBy: factor => this.zoomBy(factor),
      fit: () => this.fit(),
      reset: () => this.reset(),
      expandAll: () => this.expandAll(),
      collapseAll: () => this.collapseAll()
    });
    this._note = el('div', 'nj-graph-note');
    this._stage = el('div', 'nj-graph-stage');
    this._canvas = el('canvas', 'nj-graph-canvas');
    this._canvas.tabIndex = 0;
    this._canvas.setAttribute('role', 'img');
    this._canvas.setAttribute('aria-label', 'Task graph');
    this._overview = new Overview((x, y) => {
      this._view.place(x, y, this._view.w / 2, this._view.h / 2);
      this._schedule();
    });
    this._tip = el('div', 'nj-graph-tip');
    this._stage.append(this._canvas, this._overview.canvas, this._tip, this._note);
    this.node.append(this._toolbar.node, this._stage);
    bindCanvas(this._canvas, {
      view: this._view,
      moved: () => this._schedule(),
      zoomBy: (factor, cx, cy) => this.zoomBy(factor, cx, cy),
      fit: () => this.fit(),
      reset: () => this.reset(),
      click: event => this._click(event),
      doubleClick: event => this._doubleClick(event),
      hover: event => this._hover(event),
      leave: () => {
        this._tip.hidden = true;
      },
      escape: () => {
        this.select(null);
        this._onSelect(null);
      }
    });
    this._resize = new ResizeObserver(() => this._sizeCanvas());
    this._resize.observe(this._stage);
  }

  /** The component's element. */
  readonly node: HTMLDivElement;

  /** Groups drawn as one node (indexes into the structure's groups). */
  readonly collapsed = new Set<number>();

  /** How many times the graph was painted, and how long the last paint took (benchmark). */
  paintCount = 0;
  lastPaintMillis = 0;

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
    return this._view.k;
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
    const collapsed = carryCollapsed(old, this.collapsed, structure);
    this._structure = structure;
    this._inner = innermostGroups(structure);
    this._calls = callTasks(structure);
    this.collapsed.clear();
    collapsed.forEach(g => this.collapsed.add(g));
    if (old && this._selection) {
      this._selection = carrySelection(old, structure, this._selection);
    }
    this._relayout();
  }

  /** Recolour the nodes from new statuses (no layout). */
  setStatuses(statuses: string[]): void {
    this._statuses = statuses;
    if (!this._scene || !this._structure) {
      return;
    }
    this._colors = this._shownColors();
    this._overview.invalidate();
    this._schedule();
  }

  /** The status of a task (by id) as last painted, or null if it is not painted yet. */
  paintedStatus(taskId: string): string | null {
    const scene = this._paintedScene;
    const i = scene?.index.get(taskId);
    return i === undefined ? null : this._paintedStatuses[i] ?? null;
  }

  /** Select a task or group (and centre on it with `center`); null clears the selection. */
  select(selection: Selection | null, center = false): void {
    this._selection = selection;
    this._updateHighlight();
    this.node.dataset.selected = selectionId(this._structure, selection);
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
    const found = this._toolbar.found;
    if (!s || !text.trim()) {
      found.textContent = '';
      return -1;
    }
    const current = this._selection && 'task' in this._selection ? this._selection.task : -1;
    const { index, matches } = findTask(s.ids, text, current, step);
    if (index < 0) {
      found.textContent = 'no task matches';
      this.node.dataset.found = '';
      return -1;
    }
    found.textContent = matches > 1 ? `${matches} match (Enter: next)` : '';
    this.node.dataset.found = s.ids[index];
    this.reveal(index);
    this.select({ task: index }, true);
    this._onSelect({ task: index });
    return index;
  }

  /** Expand every collapsed group that hides a task. */
  reveal(task: number): void {
    const s = this._structure;
    if (s && openAround(s, this._inner, task, this.collapsed)) {
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
    this._view.zoomBy(factor, cx, cy);
    this._schedule();
  }

  /** Fit the whole graph in the view (never above 100 %). */
  fit(): void {
    const l = this._scene?.layout;
    if (l && this._view.w && this._view.h) {
      this._view.fit(l.width, l.height);
      this._schedule();
    }
  }

  /** 100 %, at the start of the graph (its first layer, centred across). */
  reset(): void {
    const scene = this._scene;
    if (scene) {
      const l = scene.layout;
      this._view.reset(l.width, l.height, this._direction, scene.start(this._direction));
      this._schedule();
    }
  }

  /** Where a task's (or the group hiding it) node is on the screen (client coordinates), or
   * null while it is not laid out. Used by tests and the benchmark. */
  clientPointOf(taskId: string): { x: number; y: number } | null {
    const scene = this._scene;
    const node = scene ? scene.nodeOfTask(taskId) : -1;
    if (!scene || node < 0) {
      return null;
    }
    const rect = this._canvas.getBoundingClientRect();
    const p = this._view.toScreen(scene.layout.x[node], scene.layout.y[node]);
    return { x: rect.left + p.x, y: rect.top + p.y };
  }

  /** Redraw now (normally done on the next animation frame). */
  paint(): void {
    if (this._frame) {
      cancelAnimationFrame(this._frame);
    }
    this._frame = 0;
    this._draw();
  }

  dispose(): void {
    this._resize.disconnect();
    this._layouts.dispose();
    this._stopProgress();
    if (this._frame) {
      cancelAnimationFrame(this._frame);
    }
    this._installing++;
  }

  // ------------------------------------------------------------------------------ layout

  private _relayout(): void {
    const s = this._structure;
    if (!s) {
      return;
    }
    const drawn = buildDrawn(s, this.collapsed, this._inner);
    this._toolbar.expandAll.hidden = !this.collapsed.size;
    this._toolbar.collapseAll.hidden = !s.groups.length || this.collapsed.size === s.groups.length;
    const key = `${this._direction}:${drawn.key}`;
    const cached = this._cache.get(key);
    if (cached) {
      this._layouts.cancel();
      this.node.dataset.layout = 'pending';
      void this._install(drawn, cached, s);
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
    this._installing++; // an install under way is of no use any more
    this.node.dataset.layout = 'pending';
    this._showProgress(drawn.count);
    this._layouts
      .layout({ direction: this._direction, widths, heights, edges: drawn.edges.slice() })
      .then(
        result => {
          if (result && this._structure === s) {
            this._cache.set(key, result);
            if (this._cache.size > CACHED_LAYOUTS) {
              this._cache.delete(this._cache.keys().next().value as string);
            }
            void this._install(drawn, result, s);
          }
        },
        (error: Error) => {
          this._stopProgress();
          this.node.dataset.layout = 'error';
          this._note.textContent = `The graph cannot be laid out: ${error.message}`;
        }
      );
  }

  /** Say that a layout is under way, with the seconds it has taken so far. */
  private _showProgress(count: number): void {
    this._stopProgress();
    const what = `Laying out ${count.toLocaleString('en')} node${count === 1 ? '' : 's'}…`;
    const started = performance.now();
    this._note.textContent = what;
    this._note.hidden = false;
    this._progress = window.setInterval(() => {
      const seconds = Math.round((performance.now() - started) / 1000);
      this._note.textContent = `${what} ${seconds} s`;
    }, 1000);
  }

  private _stopProgress(): void {
    window.clearInterval(this._progress);
    this._progress = 0;
  }

  /**
   * Put a laid-out graph on the canvas in slices, each its own task: the scene (boxes, grid,
   * edge bounds) now, then the switch to it and a paint, then the overview's picture. A newer
   * layout or install started meanwhile makes this one stop.
   */
  private async _install(drawn: IDrawnGraph, layout: ILayoutResult, shown: IGraphStructure): Promise<void> {
    const seq = ++this._installing;
    const scene = new Scene(drawn, layout, shown, this._sizes);
    await yieldToPage();
    if (seq !== this._installing) {
      return;
    }
    this._stopProgress();
    const first = !this._scene || this._scene.count === 0; // the first graph with tasks
    const anchor = this._anchor();
    this._scene = scene;
    this._colors = this._shownColors();
    this._updateHighlight();
    this._overview.invalidate();
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
    const l = this._scene!.layout;
    if (this._view.fitZoom(l.width, l.height) >= 0.6 || !this._view.w) {
      this.fit();
    } else {
      this.reset();
    }
  }

  /** A task shown now and where it is on the screen, to keep it in place after a layout. */
  private _anchor(): { taskId: string; sx: number; sy: number } | null {
    const scene = this._scene;
    const node = nodeOfSelection(scene, this._selection, selectionId(this._structure, this._selection));
    if (!scene || !this._structure || node < 0) {
      return null;
    }
    const r = scene.drawn.ref[node];
    const shown = scene.shown;
    const taskId = shown.ids[r >= 0 ? r : shown.groups[groupOf(r)].members[0]];
    if (this._structure.ids.indexOf(taskId) < 0) {
      return null;
    }
    const p = this._view.toScreen(scene.layout.x[node], scene.layout.y[node]);
    return { taskId, sx: p.x, sy: p.y };
  }

  private _restoreAnchor(anchor: { taskId: string; sx: number; sy: number }): void {
    const scene = this._scene!;
    const node = scene.nodeOfTask(anchor.taskId);
    if (node >= 0) {
      this._view.place(scene.layout.x[node], scene.layout.y[node], anchor.sx, anchor.sy);
    }
  }

  /** The statuses of the shown structure's tasks: the latest ones, matched by id while a new
   * structure waits for its layout. */
  private _shownStatuses(): readonly string[] {
    const scene = this._scene;
    const current = this._structure;
    if (!scene || !current || scene.shown === current) {
      return this._statuses;
    }
    if (this._matched.from !== this._statuses || this._matched.scene !== scene) {
      const index = new Map(current.ids.map((id, i) => [id, i]));
      const statuses = scene.shown.ids.map(id => this._statuses[index.get(id) ?? -1] ?? 'unknown');
      this._matched = { from: this._statuses, scene, statuses };
    }
    return this._matched.statuses;
  }

  private _shownColors(): string[] {
    const scene = this._scene!;
    const calls = scene.shown === this._structure ? this._calls : callTasks(scene.shown);
    return drawnStatuses(scene.drawn, scene.shown, this._shownStatuses(), calls);
  }

  // --------------------------------------------------------------------------- selection

  private _updateHighlight(): void {
    const id = selectionId(this._structure, this._selection);
    this._selectedNode = nodeOfSelection(this._scene, this._selection, id);
    this._near = this._scene ? neighbours(this._scene.drawn, this._selectedNode) : new Map();
  }

  private _centerOnSelection(): void {
    const scene = this._scene;
    const node = nodeOfSelection(scene, this._selection, selectionId(this._structure, this._selection));
    if (!scene || node < 0 || this.node.dataset.layout === 'pending') {
      this._pendingCenter = true; // once the graph that shows it is laid out
      return;
    }
    this._view.centerOn(scene.layout.x[node], scene.layout.y[node]);
    this._schedule();
  }

  // ------------------------------------------------------------------------------ events

  /** The node under a pointer event, or -1. */
  private _hit(event: MouseEvent): number {
    const scene = this._scene;
    if (!scene) {
      return -1;
    }
    const rect = this._canvas.getBoundingClientRect();
    const p = this._view.toWorld(event.clientX - rect.left, event.clientY - rect.top);
    return scene.nodeAt(p.x, p.y);
  }

  /** A node's selection in the current structure's terms (null if it has gone). */
  private _pick(node: number): Selection | null {
    const scene = this._scene!;
    const r = scene.drawn.ref[node];
    const picked: Selection = r >= 0 ? { task: r } : { group: groupOf(r) };
    return this._structure ? carrySelection(scene.shown, this._structure, picked) : null;
  }

  private _click(event: MouseEvent): void {
    this._canvas.focus({ preventScroll: true });
    const node = this._hit(event);
    if (node < 0) {
      return;
    }
    const picked = this._pick(node);
    const same = node === this._selectedNode || !picked;
    this.select(same ? null : picked);
    this._onSelect(same ? null : picked);
  }

  private _doubleClick(event: MouseEvent): void {
    const node = this._hit(event);
    if (node >= 0 && this._scene!.isGroup(node)) {
      const picked = this._pick(node);
      if (picked && 'group' in picked) {
        this.expand(picked.group);
      }
    }
  }

  private _hover(event: MouseEvent): void {
    const node = this._hit(event);
    if (node < 0) {
      this._tip.hidden = true;
      this._canvas.style.cursor = '';
      return;
    }
    this._canvas.style.cursor = 'pointer';
    this._tip.textContent = nodeTip(this._scene!, this._shownStatuses(), node);
    const rect = this._stage.getBoundingClientRect();
    this._tip.style.left = `${Math.min(event.clientX - rect.left + 12, this._view.w - 220)}px`;
    this._tip.style.top = `${event.clientY - rect.top + 14}px`;
    this._tip.hidden = false;
  }

  // ----------------------------------------------------------------------------- drawing

  private _sizeCanvas(): void {
    const rect = this._stage.getBoundingClientRect();
    const w = Math.max(1, Math.round(rect.width));
    const h = Math.max(1, Math.round(rect.height));
    if (w === this._view.w && h === this._view.h) {
      return;
    }
    const firstSize = !this._view.w;
    this._view.w = w;
    this._view.h = h;
    const dpr = window.devicePixelRatio || 1;
    this._canvas.width = Math.round(w * dpr);
    this._canvas.height = Math.round(h * dpr);
    this._canvas.style.width = `${w}px`;
    this._canvas.style.height = `${h}px`;
    if (firstSize && this._scene) {
      this._initialView();
    }
    this.paint();
  }

  private _schedule(): void {
    if (!this._frame) {
      this._frame = requestAnimationFrame(() => {
        this._frame = 0;
        this._draw();
      });
    }
  }

  private _draw(): void {
    const started = performance.now();
    const ctx = this._canvas.getContext('2d');
    if (!ctx) {
      return;
    }
    const scene = this._scene;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this._canvas.width, this._canvas.height);
    this.node.dataset.zoom = this._view.k.toFixed(3);
    if (!scene) {
      return;
    }
    const font = this._font();
    if (this._fitter.font !== font) {
      ctx.font = font;
      this._fitter = { font, fitter: new LabelFitter(text => ctx.measureText(text).width) };
    }
    const statuses = this._shownStatuses();
    paintScene(ctx, scene, {
      view: this._view,
      colors: this._colors,
      statuses,
      selected: this._selectedNode,
      near: this._near,
      fitter: this._fitter.fitter,
      font,
      dpr
    });
    this._paintedScene = scene;
    this._paintedStatuses = statuses;
    const stale = this._overview.draw(scene, this._colors, this._view, dpr, false);
    if (stale && !this._overviewPending) {
      this._overviewPending = true;
      void yieldToPage().then(() => {
        this._overviewPending = false;
        this._overview.draw(this._scene, this._colors, this._view, window.devicePixelRatio || 1, true);
      });
    }
    this.paintCount++;
    const ended = performance.now();
    this.lastPaintMillis = ended - started;
    // for the benchmark (bench/browser_bake_graph.py); nothing listens otherwise
    this.node.dispatchEvent(
      new CustomEvent('nj-graph-paint', { bubbles: true, detail: { started, ended, nodes: scene.count } })
    );
    if (!this._firstPaintMarked) {
      this._firstPaintMarked = true;
      performance.mark('nj-graph-first-paint');
    }
  }

  private _font(): string {
    if (!this._fontFamily) {
      this._fontFamily = getComputedStyle(this.node).fontFamily || 'sans-serif';
    }
    return `${FONT_PX}px ${this._fontFamily}`;
  }

  private _autoHeight = '';
  private _cache = new Map<string, ILayoutResult>();
  private _calls = new Map<number, number>();
  private _canvas: HTMLCanvasElement;
  private _colors: string[] = [];
  private _direction: 'LR' | 'TB';
  private _firstPaintMarked = false;
  private _fitter: { font: string; fitter: LabelFitter } = { font: '', fitter: new LabelFitter(() => 0) };
  private _fontFamily = '';
  private _frame = 0;
  private _inner = new Int32Array(0);
  private _installing = 0;
  private _layouts = new LayoutClient();
  private _matched: { from: string[] | null; scene: Scene | null; statuses: string[] } = {
    from: null,
    scene: null,
    statuses: []
  };
  private _near: Map<number, Relation> = new Map();
  private _note: HTMLDivElement;
  private _onSelect: (selection: Selection | null) => void;
  private _overview: Overview;
  private _overviewPending = false;
  private _paintedScene: Scene | null = null;
  private _paintedStatuses: readonly string[] = [];
  private _pendingCenter = false;
  private _progress = 0;
  private _resize: ResizeObserver;
  private _scene: Scene | null = null;
  private _selectedNode = -1;
  private _selection: Selection | null = null;
  private _sizes: ISizes;
  private _stage: HTMLDivElement;
  private _statuses: string[] = [];
  private _structure: IGraphStructure | null = null;
  private _tip: HTMLDivElement;
  private _toolbar: Toolbar;
  private _view = new Viewport();
}
