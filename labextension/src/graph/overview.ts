/**
 * The overview map, shown when the graph is larger than the view: the whole graph in small,
 * coloured by status, with the part in sight outlined; a click or a drag on it moves the view.
 * Its picture of the nodes is kept in a spare canvas and redrawn only when the scene or the
 * colours change, one path per colour.
 */
import { statusColor } from './colors';
import { Scene } from './scene';
import { Viewport } from './viewport';

const MINI_W = 180;
const MINI_H = 120;

/** The overview; `onMove` gets the world point to put in the middle of the view. */
export class Overview {
  constructor(onMove: (x: number, y: number) => void) {
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'nj-graph-minimap';
    this.canvas.title = 'Overview: click or drag to move the view';
    let down = false;
    const moveTo = (event: PointerEvent) => {
      if (!this._scene) {
        return;
      }
      const rect = this.canvas.getBoundingClientRect();
      onMove(
        (event.clientX - rect.left - this._offset.x) / this._scale,
        (event.clientY - rect.top - this._offset.y) / this._scale
      );
    };
    this.canvas.addEventListener('pointerdown', event => {
      down = true;
      this.canvas.setPointerCapture(event.pointerId);
      moveTo(event);
    });
    this.canvas.addEventListener('pointermove', event => down && moveTo(event));
    this.canvas.addEventListener('pointerup', () => {
      down = false;
    });
  }

  readonly canvas: HTMLCanvasElement;

  /** The nodes' picture is out of date (new scene or colours). */
  invalidate(): void {
    this._dirty = true;
  }

  /**
   * Show the overview if the scene is larger than the view, else hide it. The nodes' picture
   * is redrawn only if `redraw`: otherwise a stale one is shown, and the answer (true) says
   * that `draw` should be called again with `redraw`, in a task of its own.
   */
  draw(scene: Scene | null, colors: readonly string[], view: Viewport, dpr: number, redraw = true): boolean {
    const l = scene?.layout;
    const big = !!l && view.overflows(l.width, l.height);
    this.canvas.hidden = !big;
    this._scene = big ? scene : null;
    if (!big || !scene || !l) {
      return false;
    }
    const scale = Math.min(MINI_W / l.width, MINI_H / l.height);
    const mw = Math.max(24, Math.round(l.width * scale));
    const mh = Math.max(24, Math.round(l.height * scale));
    if (this.canvas.width !== mw * dpr || this.canvas.height !== mh * dpr) {
      this.canvas.width = mw * dpr;
      this.canvas.height = mh * dpr;
      this.canvas.style.width = `${mw}px`;
      this.canvas.style.height = `${mh}px`;
      this._dirty = true;
    }
    this._scale = scale;
    this._offset = { x: (mw - l.width * scale) / 2, y: (mh - l.height * scale) / 2 };
    const stale = this._dirty || !this._base;
    if (redraw && stale) {
      this._drawBase(scene, colors, mw, mh, dpr);
    }
    const ctx = this.canvas.getContext('2d')!;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    if (this._base) {
      ctx.drawImage(this._base, 0, 0);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.strokeStyle = '#1a5fb4';
    ctx.lineWidth = 1.5;
    const sight = view.visible();
    ctx.strokeRect(
      this._offset.x + sight.x0 * scale,
      this._offset.y + sight.y0 * scale,
      (sight.x1 - sight.x0) * scale,
      (sight.y1 - sight.y0) * scale
    );
    return stale && !redraw;
  }

  private _drawBase(scene: Scene, colors: readonly string[], mw: number, mh: number, dpr: number): void {
    this._base = this._base ?? document.createElement('canvas');
    this._base.width = this.canvas.width;
    this._base.height = this.canvas.height;
    const base = this._base.getContext('2d')!;
    base.setTransform(dpr, 0, 0, dpr, 0, 0);
    base.fillStyle = 'rgba(255,255,255,0.92)';
    base.fillRect(0, 0, mw, mh);
    const l = scene.layout;
    const scale = this._scale;
    const paths = new Map<string, Path2D>();
    for (let i = 0; i < scene.count; i++) {
      const color = statusColor(colors[i] ?? 'unknown');
      let path = paths.get(color);
      if (!path) {
        path = new Path2D();
        paths.set(color, path);
      }
      const w = Math.max(1, scene.width(i) * scale);
      const h = Math.max(1, scene.height(i) * scale);
      path.rect(this._offset.x + l.x[i] * scale - w / 2, this._offset.y + l.y[i] * scale - h / 2, w, h);
    }
    for (const [color, path] of paths) {
      base.fillStyle = color;
      base.fill(path);
    }
    this._dirty = false;
  }

  private _base: HTMLCanvasElement | null = null;
  private _dirty = true;
  private _offset = { x: 0, y: 0 };
  private _scale = 1;
  private _scene: Scene | null = null;
}
