/**
 * What is on the canvas: a drawn graph (tasks and collapsed groups) with its layout, the
 * structure it was drawn from, the nodes' boxes (indexed in a grid) and the edges' bounds.
 * Built once per layout, in flat typed arrays.
 */
import { IDrawnGraph } from './drawn';
import { ILayoutResult } from './layout';
import { SpatialGrid } from './spatial';
import { IGraphStructure } from './types';

/** Node sizes in world pixels. */
export interface ISizes {
  taskW: number;
  taskH: number;
  groupW: number;
  groupH: number;
}

/** Sizes for layers left to right (the notebook) and top to bottom (the narrow sidebar). */
export const SIZES: Record<'LR' | 'TB', ISizes> = {
  LR: { taskW: 160, taskH: 28, groupW: 200, groupH: 40 },
  TB: { taskW: 140, taskH: 26, groupW: 170, groupH: 38 }
};

/** A laid-out drawn graph, ready to paint and to hit-test. */
export class Scene {
  constructor(
    readonly drawn: IDrawnGraph,
    readonly layout: ILayoutResult,
    /** The structure the drawn graph was built from (the latest may be newer). */
    readonly shown: IGraphStructure,
    readonly sizes: ISizes
  ) {
    const n = drawn.count;
    this.index = new Map();
    shown.ids.forEach((id, i) => this.index.set(id, i));
    const boxes = new Float32Array(4 * n);
    for (let i = 0; i < n; i++) {
      const hw = this.width(i) / 2;
      const hh = this.height(i) / 2;
      boxes[4 * i] = layout.x[i] - hw;
      boxes[4 * i + 1] = layout.y[i] - hh;
      boxes[4 * i + 2] = layout.x[i] + hw;
      boxes[4 * i + 3] = layout.y[i] + hh;
    }
    this.grid = new SpatialGrid(boxes, layout.width, layout.height);
    const edges = layout.pointStart.length - 1;
    const bounds = new Float32Array(4 * Math.max(0, edges));
    const p = layout.points;
    for (let k = 0; k < edges; k++) {
      let x0 = Infinity;
      let y0 = Infinity;
      let x1 = -Infinity;
      let y1 = -Infinity;
      for (let q = layout.pointStart[k]; q < layout.pointStart[k + 1]; q++) {
        x0 = Math.min(x0, p[2 * q]);
        x1 = Math.max(x1, p[2 * q]);
        y0 = Math.min(y0, p[2 * q + 1]);
        y1 = Math.max(y1, p[2 * q + 1]);
      }
      bounds[4 * k] = x0;
      bounds[4 * k + 1] = y0;
      bounds[4 * k + 2] = x1;
      bounds[4 * k + 3] = y1;
    }
    this.edgeBounds = bounds;
  }

  /** Task id → its index in `shown`. */
  readonly index: Map<string, number>;
  /** The nodes' boxes, by grid cell. */
  readonly grid: SpatialGrid;
  /** Each edge's route's bounds (x0, y0, x1, y1). */
  readonly edgeBounds: Float32Array;

  get count(): number {
    return this.drawn.count;
  }

  isGroup(node: number): boolean {
    return this.drawn.ref[node] < 0;
  }

  width(node: number): number {
    return this.isGroup(node) ? this.sizes.groupW : this.sizes.taskW;
  }

  height(node: number): number {
    return this.isGroup(node) ? this.sizes.groupH : this.sizes.taskH;
  }

  /** The node drawing a task (given by id): its own, or its collapsed group's; -1 if none. */
  nodeOfTask(taskId: string): number {
    const i = this.index.get(taskId);
    return i === undefined ? -1 : this.drawn.nodeOf[i];
  }

  /** The corner (top left) of the first node of the first layer: the left-most nodes' top
   * one (LR), the top-most nodes' left one (TB); the origin of an empty scene. */
  start(direction: 'LR' | 'TB'): { x: number; y: number } {
    const b = this.grid.boxes;
    const along = direction === 'LR' ? 0 : 1; // the layers' axis
    let first = Infinity;
    for (let i = 0; i < this.count; i++) {
      first = Math.min(first, b[4 * i + along]);
    }
    let corner = { x: 0, y: 0 };
    let best = Infinity;
    for (let i = 0; i < this.count; i++) {
      const across = b[4 * i + 1 - along];
      if (b[4 * i + along] <= first + 1 && across < best) {
        best = across;
        corner = { x: b[4 * i], y: b[4 * i + 1] };
      }
    }
    return corner;
  }

  /** The node at a world point, or -1. */
  nodeAt(x: number, y: number): number {
    return this.grid.hit(x, y);
  }
}
