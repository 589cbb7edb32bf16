/**
 * The notebook's bake view: the anywidget front end of `neuro_jupyter.widgets.bake_view`,
 * built from the same graph component as the sidebar (esbuild bundles it into
 * `neuro_jupyter/widgets/static/bake_view.js` when the labextension is built).
 *
 * It draws the kernel's snapshot at once, then follows the store through the Jupyter
 * server's REST API when the server extension answers for this bake: the view then keeps
 * following after a kernel restart, or with no kernel at all. Without the server extension
 * (VS Code, Colab, another server) it follows the kernel, and says plainly when the kernel
 * has gone and how to re-attach, rather than show a frozen "running".
 */
import { applyChanges, ITaskChanges } from './changes';
import { BakeDetails } from './details';
import { pageServer, RestBakeClient, RestError } from './rest';
import { IBakeGraph, IGraphStructure, ITaskLogText } from './types';

/** What anywidget passes to `render` (the part of it used here). */
interface IModel {
  get(name: string): unknown;
  set(name: string, value: unknown): void;
  save_changes(): void;
  send(content: unknown): void;
  on(name: string, callback: (...args: unknown[]) => void): void;
  off(name: string, callback?: (...args: unknown[]) => void): void;
}

/** How long the kernel may stay silent about a running bake before the view says so. */
const KERNEL_SILENCE_MS = 10_000;
const MIN_POLL_MS = 1000;
const MAX_POLL_MS = 10_000;

function render({ model, el }: { model: IModel; el: HTMLElement }): () => void {
  const pk = Number(model.get('pk'));
  const bakeId = String(model.get('bake_id'));
  const attempt = Number(model.get('attempt') || 0);
  const server = pageServer();
  const client = server && pk > 0 ? new RestBakeClient(server, pk, bakeId) : null;
  let mode: 'kernel' | 'rest' = 'kernel';
  let kernelAlive = true;
  let lastKernelNews = Date.now();
  let timer = 0;
  let disposed = false;
  let restFailures = 0;
  let logSeq = 0;
  const pendingLogs = new Map<number, { resolve: (l: ITaskLogText) => void; reject: (e: Error) => void }>();

  const kernelLog = (taskId: string, at: number): Promise<ITaskLogText> => {
    if (!kernelAlive) {
      return Promise.reject(new Error(`the kernel is gone: run %neuro_inspect ${bakeRef()} to re-attach`));
    }
    const id = ++logSeq;
    return new Promise((resolve, reject) => {
      pendingLogs.set(id, { resolve, reject });
      model.send({ type: 'log', id, task: taskId, attempt: at });
      window.setTimeout(() => {
        if (pendingLogs.delete(id)) {
          reject(new Error('the kernel did not answer (is it busy running a cell?)'));
        }
      }, 15_000);
    });
  };
  const details = new BakeDetails({
    direction: 'LR',
    header: true,
    fetchLog: (taskId, at) => (mode === 'rest' && client ? client.taskLog(taskId, at) : kernelLog(taskId, at))
  });
  details.node.classList.add('nj-bake');
  el.append(details.node);

  // the tasks changed since the kernel's last whole state (changes.ts)
  let changes: ITaskChanges | null = null;
  const fromKernel = (): IBakeGraph | null => {
    const state = model.get('state') as (Omit<IBakeGraph, 'structure'> & { snapshot?: number }) | undefined;
    const structure = model.get('structure') as IGraphStructure | undefined;
    return state?.tasks && structure && structure.ids ? applyChanges({ ...state, structure }, changes) : null;
  };
  const bakeRef = () => details.data?.bake.name || bakeId;
  const finished = () => details.data?.attempt.finished_at !== null && details.data?.attempt.finished_at !== undefined;

  const showConnection = () => {
    if (mode === 'rest') {
      details.setConnection(finished() ? 'read from the Jupyter server' : 'live, from the Jupyter server', 'server');
    } else if (!kernelAlive) {
      details.setConnection(
        finished()
          ? `The kernel that drew this view is gone; run %neuro_inspect ${bakeRef()} to see the bake again.`
          : `Disconnected: the kernel that drew this view is gone, so it no longer updates. Run %neuro_inspect ${bakeRef()} in a new cell to follow the bake again.`,
        finished() ? 'finished-disconnected' : 'disconnected'
      );
    } else if (!finished() && Date.now() - lastKernelNews > KERNEL_SILENCE_MS) {
      const since = new Date(lastKernelNews).toLocaleTimeString();
      details.setConnection(`No news from the kernel since ${since} (is it busy running a cell?)`, 'stale');
    } else {
      details.setConnection(finished() ? '' : 'live, from the kernel', 'kernel');
    }
  };

  const onKernelData = () => {
    lastKernelNews = Date.now();
    const data = fromKernel();
    if (mode === 'kernel' && data) {
      details.update(data);
      showConnection();
    }
  };
  const onMessage = (...args: unknown[]) => {
    const msg = args[0] as { type?: string; id?: number; header?: string; text?: string; error?: string };
    if (msg?.type === 'tasks') {
      changes = msg as unknown as ITaskChanges;
      onKernelData();
      return;
    }
    if (msg?.type !== 'log' || msg.id === undefined) {
      return;
    }
    const pending = pendingLogs.get(msg.id);
    pendingLogs.delete(msg.id);
    if (pending && msg.error) {
      pending.reject(new Error(msg.error));
    } else if (pending) {
      pending.resolve({ header: msg.header ?? '', text: msg.text ?? '' });
    }
  };
  const onCommLive = () => {
    // the widget manager says a model's comm changed state only when its kernel went away
    // (restart, shutdown: models are not reconnected to a new kernel), after the view exists
    kernelAlive = false;
    for (const [, pending] of pendingLogs) {
      pending.reject(new Error(`the kernel is gone: run %neuro_inspect ${bakeRef()} to re-attach`));
    }
    pendingLogs.clear();
    showConnection();
  };
  model.on('change:state', onKernelData);
  model.on('change:structure', onKernelData);
  model.on('msg:custom', onMessage);
  model.on('comm_live_update', onCommLive);
  const silence = window.setInterval(() => {
    if (mode === 'kernel') {
      showConnection();
    }
  }, 2000);

  const tellKernel = (remote: boolean) => {
    if (kernelAlive && Boolean(model.get('remote')) !== remote) {
      try {
        model.set('remote', remote);
        model.save_changes();
      } catch {
        // the kernel is gone: nothing to tell
      }
    }
  };

  const poll = async () => {
    timer = 0;
    if (!client || disposed) {
      return;
    }
    const started = performance.now();
    try {
      const data = await client.graph(attempt);
      if (disposed) {
        return;
      }
      restFailures = 0;
      mode = 'rest';
      tellKernel(true);
      details.update(data);
      showConnection();
      if (data.attempt.finished_at === null || data.attempt.finished_at === undefined) {
        const took = performance.now() - started;
        timer = window.setTimeout(poll, Math.min(MAX_POLL_MS, Math.max(MIN_POLL_MS, 4 * took)));
      }
    } catch (error) {
      if (disposed) {
        return;
      }
      const status = error instanceof RestError ? error.status : 0;
      if (mode === 'kernel' && (status === 404 || status === 403)) {
        return; // no server extension here, or not this store: the kernel it is
      }
      restFailures++;
      if (kernelAlive) {
        mode = 'kernel';
        tellKernel(false);
        onKernelData();
      } else {
        details.setConnection(
          `The Jupyter server does not answer (${(error as Error).message}); retrying. ` +
            `Run %neuro_inspect ${bakeRef()} in a new cell to re-attach.`,
          'disconnected'
        );
      }
      timer = window.setTimeout(poll, Math.min(30_000, MIN_POLL_MS * 2 ** restFailures));
    }
  };

  const initial = fromKernel();
  if (initial) {
    details.update(initial);
  }
  try {
    model.send({ type: 'tasks' }); // the changes since the whole state, if any
  } catch {
    // the kernel is gone
  }
  showConnection();
  void poll();

  return () => {
    disposed = true;
    window.clearTimeout(timer);
    window.clearInterval(silence);
    model.off('change:state', onKernelData);
    model.off('change:structure', onKernelData);
    model.off('msg:custom', onMessage);
    model.off('comm_live_update', onCommLive);
    details.dispose();
  };
}

export default { render };
