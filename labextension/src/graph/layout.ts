/**
 * Lays drawn graphs out in a web worker (dagre), one request at a time per view: a request
 * that a newer one replaced is answered with the newer result only.
 */
import { ILayoutRequest, ILayoutResult, layoutGraph } from './dagre-layout';
import { LAYOUT_WORKER_SOURCE } from './_layoutWorker';

export type { ILayoutResult } from './dagre-layout';

/** A worker running the bundled layout code. */
function startWorker(): Worker {
  const blob = new Blob([LAYOUT_WORKER_SOURCE], { type: 'text/javascript' });
  const url = URL.createObjectURL(blob);
  try {
    return new Worker(url);
  } finally {
    // the worker has fetched its script once it starts; the URL can go
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}

/** A layout service with its own worker. */
export class LayoutClient {
  /** Lay a graph out; resolves with the result of the latest request only (older ones
   * resolve null). */
  layout(request: Omit<ILayoutRequest, 'id'>): Promise<ILayoutResult | null> {
    this.cancel(); // a layout still running is of no use any more: stop it, not wait for it
    const id = ++this._seq;
    if (!this._worker && !this._inPage) {
      try {
        this._worker = startWorker();
      } catch {
        // a page that forbids workers from blob URLs: lay out here (the page then waits)
        this._inPage = true;
      }
    }
    if (this._inPage) {
      return new Promise(resolve =>
        setTimeout(() => resolve(id === this._seq ? layoutGraph({ ...request, id }) : null))
      );
    }
    const worker = this._worker!;
    if (!worker.onmessage) {
      worker.onmessage = event => this._answer(event.data);
      worker.onerror = event => {
        event.preventDefault();
        this._fail(`the layout worker failed: ${event.message}`);
      };
    }
    return new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject });
      const full: ILayoutRequest = { ...request, id };
      worker.postMessage(full, [
        full.widths.buffer,
        full.heights.buffer,
        full.edges.buffer
      ]);
    });
  }

  /** Drop the request under way, if any (it resolves null). */
  cancel(): void {
    this._seq++; // an answer laid out in the page for an older request is dropped
    if (this._worker && this._pending.size) {
      this._worker.terminate();
      this._worker = null;
    }
    for (const [, pending] of this._pending) {
      pending.resolve(null);
    }
    this._pending.clear();
  }

  dispose(): void {
    this._worker?.terminate();
    this._worker = null;
    this._fail('the view was closed');
  }

  private _answer(data: ILayoutResult | { id: number; error: string }): void {
    const pending = this._pending.get(data.id);
    if (!pending) {
      return; // an answer to a replaced request
    }
    this._pending.delete(data.id);
    if ('error' in data) {
      pending.reject(new Error(data.error));
    } else {
      pending.resolve(data);
    }
  }

  private _fail(message: string): void {
    for (const [, pending] of this._pending) {
      pending.reject(new Error(message));
    }
    this._pending.clear();
  }

  private _inPage = false;
  private _seq = 0;
  private _worker: Worker | null = null;
  private _pending = new Map<
    number,
    { resolve: (r: ILayoutResult | null) => void; reject: (e: Error) => void }
  >();
}
