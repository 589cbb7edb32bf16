/**
 * The canvas's pointer, wheel and keyboard: drag to pan, wheel to zoom (or pan sideways),
 * click to select, double-click to expand, hover for a tooltip; keys + - 0 f, arrows, Escape.
 */
import { Viewport } from './viewport';

/** What the canvas's input does to the view. */
export interface ICanvasActions {
  readonly view: Viewport;
  /** The view moved: paint again. */
  moved(): void;
  zoomBy(factor: number, cx?: number, cy?: number): void;
  fit(): void;
  reset(): void;
  click(event: MouseEvent): void;
  doubleClick(event: MouseEvent): void;
  hover(event: MouseEvent): void;
  leave(): void;
  escape(): void;
}

const PAN_STEP = 60;

/** Listen to the canvas's input. */
export function bindCanvas(canvas: HTMLCanvasElement, actions: ICanvasActions): void {
  const view = actions.view;
  let down: { x: number; y: number; tx: number; ty: number; moved: boolean } | null = null;
  canvas.addEventListener('pointerdown', event => {
    if (event.button !== 0) {
      return;
    }
    canvas.setPointerCapture(event.pointerId);
    down = { x: event.clientX, y: event.clientY, tx: view.tx, ty: view.ty, moved: false };
  });
  canvas.addEventListener('pointermove', event => {
    if (down) {
      const dx = event.clientX - down.x;
      const dy = event.clientY - down.y;
      if (down.moved || Math.abs(dx) + Math.abs(dy) > 3) {
        down.moved = true;
        view.tx = down.tx + dx;
        view.ty = down.ty + dy;
        canvas.classList.add('nj-graph-dragging');
        actions.moved();
      }
      return;
    }
    actions.hover(event);
  });
  canvas.addEventListener('pointerup', event => {
    if (!down) {
      return;
    }
    const click = !down.moved;
    down = null;
    canvas.classList.remove('nj-graph-dragging');
    if (click) {
      actions.click(event);
    }
  });
  canvas.addEventListener('pointercancel', () => {
    down = null;
  });
  canvas.addEventListener('pointerleave', () => actions.leave());
  canvas.addEventListener('dblclick', event => actions.doubleClick(event));
  canvas.addEventListener(
    'wheel',
    event => {
      event.preventDefault();
      const rect = canvas.getBoundingClientRect();
      if (!event.ctrlKey && Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
        view.pan(-event.deltaX, 0);
        actions.moved();
        return;
      }
      const unit = event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? 400 : 1;
      const factor = Math.exp((-event.deltaY * unit * (event.ctrlKey ? 10 : 1)) / 600);
      actions.zoomBy(factor, event.clientX - rect.left, event.clientY - rect.top);
    },
    { passive: false }
  );
  const pan = (dx: number, dy: number) => {
    view.pan(dx, dy);
    actions.moved();
  };
  const keys: Record<string, () => void> = {
    '+': () => actions.zoomBy(1.25),
    '=': () => actions.zoomBy(1.25),
    '-': () => actions.zoomBy(1 / 1.25),
    '0': () => actions.reset(),
    f: () => actions.fit(),
    ArrowLeft: () => pan(PAN_STEP, 0),
    ArrowRight: () => pan(-PAN_STEP, 0),
    ArrowUp: () => pan(0, PAN_STEP),
    ArrowDown: () => pan(0, -PAN_STEP),
    Escape: () => actions.escape()
  };
  canvas.addEventListener('keydown', event => {
    const action = keys[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });
}
