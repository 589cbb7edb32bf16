/**
 * A grid over the nodes' boxes, so that painting visits only the nodes in sight and a pointer
 * finds the node under it without looking at all 10,000. Flat typed arrays, no object per
 * node: boxes are `x0, y0, x1, y1` quadruples.
 */

/** Nodes by grid cell (compressed rows: cell c holds `items[start[c]..start[c+1])`). */
export class SpatialGrid {
  /** Index `boxes` (4 numbers per node) over a world of `width` × `height`. */
  constructor(boxes: Float32Array, width: number, height: number) {
    const n = boxes.length / 4;
    this.boxes = boxes;
    // about two nodes per cell, within bounds on the cell's size and the cells' count
    const area = Math.max(1, width) * Math.max(1, height);
    let cell = Math.max(64, Math.min(4096, Math.sqrt(area / Math.max(1, n)) * 1.5));
    while ((Math.ceil(width / cell) + 1) * (Math.ceil(height / cell) + 1) > 4 * n + 64) {
      cell *= 1.5;
    }
    this.cell = cell;
    this.cols = Math.max(1, Math.ceil(Math.max(1, width) / cell));
    this.rows = Math.max(1, Math.ceil(Math.max(1, height) / cell));
    const cells = this.cols * this.rows;
    const count = new Int32Array(cells + 1);
    this._each(n, c => count[c + 1]++);
    for (let c = 0; c < cells; c++) {
      count[c + 1] += count[c];
    }
    this.start = count;
    const fill = count.slice(0, cells);
    const items = new Int32Array(count[cells]);
    this._each(n, (c, i) => {
      items[fill[c]++] = i;
    });
    this.items = items;
    this._stamp = new Int32Array(n);
  }

  readonly boxes: Float32Array;
  readonly cell: number;
  readonly cols: number;
  readonly rows: number;
  readonly start: Int32Array;
  readonly items: Int32Array;

  /** Call `visit` once for each node whose box meets the rectangle. */
  query(x0: number, y0: number, x1: number, y1: number, visit: (node: number) => void): void {
    const b = this.boxes;
    const stamp = ++this._query;
    const c0 = this._at(x0, this.cols);
    const c1 = this._at(x1, this.cols);
    const r0 = this._at(y0, this.rows);
    const r1 = this._at(y1, this.rows);
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const cell = r * this.cols + c;
        for (let k = this.start[cell]; k < this.start[cell + 1]; k++) {
          const i = this.items[k];
          if (this._stamp[i] === stamp) {
            continue;
          }
          this._stamp[i] = stamp;
          if (b[4 * i] <= x1 && b[4 * i + 2] >= x0 && b[4 * i + 1] <= y1 && b[4 * i + 3] >= y0) {
            visit(i);
          }
        }
      }
    }
  }

  /** The node whose box holds a point (the last one, drawn on top, if boxes overlap), or -1. */
  hit(x: number, y: number): number {
    const c = Math.floor(x / this.cell);
    const r = Math.floor(y / this.cell);
    if (c < 0 || r < 0 || c >= this.cols || r >= this.rows) {
      return -1;
    }
    const b = this.boxes;
    const cell = r * this.cols + c;
    let found = -1;
    for (let k = this.start[cell]; k < this.start[cell + 1]; k++) {
      const i = this.items[k];
      if (i > found && b[4 * i] <= x && x <= b[4 * i + 2] && b[4 * i + 1] <= y && y <= b[4 * i + 3]) {
        found = i;
      }
    }
    return found;
  }

  /** The cells a box covers, for each of `n` boxes. */
  private _each(n: number, visit: (cell: number, node: number) => void): void {
    const b = this.boxes;
    for (let i = 0; i < n; i++) {
      const c0 = this._at(b[4 * i], this.cols);
      const c1 = this._at(b[4 * i + 2], this.cols);
      const r0 = this._at(b[4 * i + 1], this.rows);
      const r1 = this._at(b[4 * i + 3], this.rows);
      for (let r = r0; r <= r1; r++) {
        for (let c = c0; c <= c1; c++) {
          visit(r * this.cols + c, i);
        }
      }
    }
  }

  /** The column (or row) of a world coordinate, clamped to the grid. */
  private _at(v: number, cells: number): number {
    return Math.min(cells - 1, Math.max(0, Math.floor(v / this.cell)));
  }

  private _query = 0;
  private _stamp: Int32Array;
}
