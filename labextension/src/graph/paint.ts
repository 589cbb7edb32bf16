/**
 * Painting a scene on the canvas: the edges and the nodes in sight (found through the scene's
 * grid), filled in one path per colour rather than one fill per node, labels cut to fit,
 * collapsed groups with a bar of their tasks' statuses, the selection and its neighbours
 * outlined. Text is drawn as canvas text, never through HTML.
 */
import { statusColor, STATUSES, textColor } from './colors';
import { statusCounts } from './drawn';
import { LabelFitter } from './labels';
import { Scene } from './scene';
import { Relation } from './selection';
import { Viewport } from './viewport';

export const FONT_PX = 12;
/** Below this size on the screen, labels are not drawn. */
const TEXT_MIN_PX = 5;
/** Zoomed out further than this on a graph this large, nodes are plain rectangles. */
const DETAIL_MIN_ZOOM = 0.15;
const DETAIL_MAX_NODES = 2000;
const SELECTED = '#111';
const RELATED = '#1a5fb4';
/** Marks a faded fill's key (no status starts with it). */
const FADED = '~';

/** What a paint needs besides the scene. */
export interface IPaintState {
  view: Viewport;
  /** Each drawn node's status (its colour). */
  colors: readonly string[];
  /** The statuses of the scene's structure's tasks (a collapsed group's status bar). */
  statuses: readonly string[];
  selected: number;
  near: ReadonlyMap<number, Relation>;
  fitter: LabelFitter;
  font: string;
  dpr: number;
}

/** Paint the scene (the canvas is cleared first); returns how many nodes were in sight. */
export function paintScene(ctx: CanvasRenderingContext2D, scene: Scene, state: IPaintState): number {
  const { view, dpr } = state;
  const k = view.k;
  ctx.setTransform(dpr * k, 0, 0, dpr * k, dpr * view.tx, dpr * view.ty);
  const sight = view.visible();
  paintEdges(ctx, scene, state, sight.x0, sight.y0, sight.x1, sight.y1);

  const shown: number[] = [];
  scene.grid.query(sight.x0, sight.y0, sight.x1, sight.y1, node => shown.push(node));
  shown.sort((a, b) => a - b);
  const dim = state.selected >= 0;
  const faded = (node: number) => dim && node !== state.selected && !state.near.has(node);
  const detailed = k > DETAIL_MIN_ZOOM || scene.count < DETAIL_MAX_NODES;

  // fills: one path per status and fading
  const fills = new Map<string, Path2D>();
  for (const node of shown) {
    const key = `${faded(node) ? FADED : ''}${state.colors[node] ?? 'unknown'}`;
    let path = fills.get(key);
    if (!path) {
      path = new Path2D();
      fills.set(key, path);
    }
    const [x, y, w, h] = box(scene, node);
    if (detailed) {
      roundRect(path, x, y, w, h, scene.isGroup(node) ? 6 : h / 2);
    } else {
      path.rect(x, y, w, h);
    }
  }
  for (const [key, path] of fills) {
    const fade = key.startsWith(FADED);
    ctx.globalAlpha = fade ? 0.3 : 1;
    ctx.fillStyle = statusColor(fade ? key.slice(1) : key);
    ctx.fill(path);
  }

  for (const node of shown) {
    const [x, y, w, h] = box(scene, node);
    const group = scene.isGroup(node);
    ctx.globalAlpha = faded(node) ? 0.3 : 1;
    if (detailed && group) {
      // a collapsed group: a doubled border, and a bar of its members' statuses
      ctx.lineWidth = 1;
      ctx.strokeStyle = 'rgba(0,0,0,0.55)';
      ctx.beginPath();
      roundRect(ctx, x, y, w, h, 6);
      roundRect(ctx, x + 3, y + 3, w - 6, h - 6, 4);
      ctx.stroke();
      statusBar(ctx, scene.drawn.members[node], state.statuses, x + 8, y + h - 10, w - 16, 4);
    }
    const relation = node === state.selected ? 'selected' : state.near.get(node);
    if (relation) {
      ctx.lineWidth = (relation === 'selected' ? 3 : 2) / Math.max(k, 0.5);
      ctx.strokeStyle = relation === 'selected' ? SELECTED : RELATED;
      ctx.beginPath();
      roundRect(ctx, x - 2, y - 2, w + 4, h + 4, group ? 7 : h / 2 + 2);
      ctx.stroke();
    }
  }

  if (FONT_PX * k >= TEXT_MIN_PX && detailed) {
    ctx.font = state.font;
    ctx.textBaseline = 'middle';
    for (const node of shown) {
      const [x, y, w, h] = box(scene, node);
      const status = state.colors[node] ?? 'unknown';
      ctx.globalAlpha = faded(node) ? 0.3 : 1;
      ctx.fillStyle = textColor(status);
      const label = state.fitter.fit(scene.drawn.labels[node], w - 16);
      ctx.fillText(label, x + 8, scene.isGroup(node) ? y + 14 : y + h / 2 + 0.5);
    }
  }
  ctx.globalAlpha = 1;
  return shown.length;
}

/** Edges in sight: unrelated ones first (dimmed when something is selected), then the
 * selected node's, on top. */
function paintEdges(
  ctx: CanvasRenderingContext2D,
  scene: Scene,
  state: IPaintState,
  x0: number,
  y0: number,
  x1: number,
  y1: number
): void {
  const l = scene.layout;
  const e = scene.drawn.edges;
  const b = scene.edgeBounds;
  const k = state.view.k;
  const sel = state.selected;
  const dim = sel >= 0;
  const plain = new Path2D();
  const near = new Path2D();
  const heads = new Path2D();
  const nearHeads = new Path2D();
  for (let j = 0; j + 1 < e.length; j += 2) {
    const edge = j / 2;
    const from = l.pointStart[edge];
    const to = l.pointStart[edge + 1];
    if (to - from < 2) {
      continue;
    }
    if (b[4 * edge + 2] < x0 || b[4 * edge] > x1 || b[4 * edge + 3] < y0 || b[4 * edge + 1] > y1) {
      continue;
    }
    const mine = dim && (e[j] === sel || e[j + 1] === sel);
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
    ctx.strokeStyle = RELATED;
    ctx.fillStyle = RELATED;
    ctx.stroke(near);
    ctx.fill(nearHeads);
  }
}

/** A node's box: left, top, width, height. */
function box(scene: Scene, node: number): [number, number, number, number] {
  const w = scene.width(node);
  const h = scene.height(node);
  return [scene.layout.x[node] - w / 2, scene.layout.y[node] - h / 2, w, h];
}

function statusBar(
  ctx: CanvasRenderingContext2D,
  members: number[],
  statuses: readonly string[],
  x: number,
  y: number,
  w: number,
  h: number
): void {
  const counts = statusCounts(members, statuses);
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

export function roundRect(
  ctx: CanvasRenderingContext2D | Path2D,
  x: number,
  y: number,
  w: number,
  h: number,
  r: number
): void {
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
