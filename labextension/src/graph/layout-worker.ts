/**
 * The layout worker: lays a drawn graph out with dagre off the page's main thread, so a
 * 10,000-node layout never blocks the page. Bundled by esbuild into a string
 * (`_layoutWorker.ts`) that `layout.ts` starts as a worker from a blob URL, which works both
 * in the labextension and in the notebook widget's ES module.
 */
import { layoutGraph, ILayoutRequest } from './dagre-layout';

declare const self: {
  onmessage: ((event: { data: ILayoutRequest }) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
};

self.onmessage = event => {
  const request = event.data;
  try {
    const result = layoutGraph(request);
    self.postMessage(result, [
      result.x.buffer,
      result.y.buffer,
      result.points.buffer,
      result.pointStart.buffer
    ]);
  } catch (error) {
    self.postMessage({ id: request.id, error: String(error) });
  }
};
