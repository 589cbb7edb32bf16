/**
 * Where the graph is on the screen: a zoom factor and an offset (screen = world × k + t), the
 * canvas's size, and the moves the view offers (zoom about a point, pan, fit, reset, centre).
 * Pure arithmetic, no DOM: tested with node.
 */

export const MIN_ZOOM = 0.02;
export const MAX_ZOOM = 4;

/** A rectangle in world coordinates. */
export interface IRect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The view's transform and size. */
export class Viewport {
  /** Zoom factor (1: 100 %). */
  k = 1;
  /** Screen position of the world's origin. */
  tx = 0;
  ty = 0;
  /** The canvas's size in CSS pixels (0 before it is in the page). */
  w = 0;
  h = 0;

  /** Zoom by a factor about a point of the canvas (its centre by default), within limits. */
  zoomBy(factor: number, cx = this.w / 2, cy = this.h / 2): void {
    const k = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.k * factor));
    this.tx = cx - ((cx - this.tx) * k) / this.k;
    this.ty = cy - ((cy - this.ty) * k) / this.k;
    this.k = k;
  }

  pan(dx: number, dy: number): void {
    this.tx += dx;
    this.ty += dy;
  }

  /** The zoom at which a graph of this size fits the view (4 px of margin). */
  fitZoom(width: number, height: number): number {
    return Math.min((this.w - 8) / Math.max(width, 1), (this.h - 8) / Math.max(height, 1));
  }

  /** The whole graph in the view, centred, never above 100 %. */
  fit(width: number, height: number): void {
    const k = Math.max(MIN_ZOOM, Math.min(1, this.fitZoom(width, height)));
    this.k = k;
    this.tx = (this.w - width * k) / 2;
    this.ty = (this.h - height * k) / 2;
  }

  /**
   * 100 %, at the start of the graph (its first layer): centred across the layers when the
   * graph fits across the view, else with the first layer's first node (`start`, its corner
   * in the world) near the view's edge, never past the graph's end.
   */
  reset(width: number, height: number, direction: 'LR' | 'TB', start = { x: 0, y: 0 }): void {
    this.k = 1;
    const margin = 12;
    const across = (size: number, view: number, first: number) =>
      size <= view ? (view - size) / 2 : Math.max(view - size, Math.min(0, margin - first));
    if (direction === 'LR') {
      this.tx = 0;
      this.ty = across(height, this.h, start.y);
    } else {
      this.ty = 0;
      this.tx = across(width, this.w, start.x);
    }
  }

  /** Put a world point in the middle of the view (at 100 % when zoomed far out). */
  centerOn(x: number, y: number): void {
    if (this.k < 0.6) {
      this.k = 1;
    }
    this.tx = this.w / 2 - x * this.k;
    this.ty = this.h / 2 - y * this.k;
  }

  /** Move so that a world point shows at a screen point. */
  place(x: number, y: number, sx: number, sy: number): void {
    this.tx = sx - x * this.k;
    this.ty = sy - y * this.k;
  }

  /** A world point's place on the canvas. */
  toScreen(x: number, y: number): { x: number; y: number } {
    return { x: x * this.k + this.tx, y: y * this.k + this.ty };
  }

  /** A canvas point's place in the world. */
  toWorld(sx: number, sy: number): { x: number; y: number } {
    return { x: (sx - this.tx) / this.k, y: (sy - this.ty) / this.k };
  }

  /** The part of the world in sight. */
  visible(): IRect {
    const x0 = -this.tx / this.k;
    const y0 = -this.ty / this.k;
    return { x0, y0, x1: x0 + this.w / this.k, y1: y0 + this.h / this.k };
  }

  /** Whether a graph of this size is larger than the view at the current zoom. */
  overflows(width: number, height: number): boolean {
    return width * this.k > this.w + 1 || height * this.k > this.h + 1;
  }
}
