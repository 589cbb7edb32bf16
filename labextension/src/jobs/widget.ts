/**
 * The notebook jobs panel (`%neuro_panel`): an anywidget front end over the same JobsModel and
 * views as the sidebar.
 *
 * When the Jupyter server has neuro-jupyter's extension (and the same store as the kernel),
 * the panel reads and acts through the REST API from the browser: it keeps following the jobs
 * after the kernel restarts or stops, and its buttons keep working. Elsewhere (no extension:
 * VS Code, a server without it) it asks the kernel over the widget's comm; when that kernel
 * goes, the panel says it is disconnected and how to re-attach, and disables its buttons.
 *
 * Bundled on its own (esbuild) into `neuro_jupyter/widgets/static/jobs_panel.js`.
 */
import {
  IConnection,
  IJob,
  IJobRow,
  ILogPage,
  IStartOptions,
  NeuroApi,
  NeuroApiError
} from '../api';
import { button, h, keepFocus } from '../dom';
import { IJobsSource, jobKey, JobsModel } from './model';
import { IJobsViewHost, renderJobDetails, renderJobList } from './view';

/** The part of anywidget's model the panel uses. */
export interface IAnyModel {
  get(name: string): any;
  send(content: unknown): void;
  on(name: string, callback: (...args: any[]) => void): void;
  off(name?: string, callback?: (...args: any[]) => void): void;
}

/** How long the kernel may take to answer: reads, and a start (which waits for the job). */
const READ_TIMEOUT_MS = 30_000;
const START_TIMEOUT_MS = 120_000;

/** JupyterLab's or Notebook 7's page configuration (base URL, token), if this page has one. */
function pageConfig(): { baseUrl?: string; token?: string } {
  const node = document.getElementById('jupyter-config-data');
  try {
    return node ? JSON.parse(node.textContent || '{}') : {};
  } catch {
    return {};
  }
}

function cookie(name: string): string | undefined {
  const match = document.cookie.match(`(?:^|;\\s*)${name}=([^;]*)`);
  return match ? decodeURIComponent(match[1]) : undefined;
}

/** Requests from this page to its Jupyter server, authenticated as JupyterLab's are. */
export function pageConnection(baseUrl: string, token?: string): IConnection {
  return {
    baseUrl,
    fetch: (url, init) => {
      const headers = new Headers(init.headers);
      if (token) {
        headers.set('Authorization', `token ${token}`);
      }
      const xsrf = cookie('_xsrf');
      if (xsrf) {
        headers.set('X-XSRFToken', xsrf);
      }
      if (init.body && !headers.has('Content-Type')) {
        headers.set('Content-Type', 'application/json');
      }
      return fetch(url, { ...init, headers, credentials: 'same-origin', cache: 'no-store' });
    }
  };
}

/** The jobs read and acted on through the kernel, over the widget's comm. */
export class KernelSource implements IJobsSource {
  constructor(model: IAnyModel) {
    this._model = model;
    this._onMessage = (message: any) => this.answer(message);
    model.on('msg:custom', this._onMessage);
  }

  /** The kernel is gone (its comm closed): every request fails at once. */
  get lost(): boolean {
    return this._lost;
  }

  /** Mark the kernel gone and fail what waits for it. */
  lose(): void {
    this._lost = true;
    for (const [id, waiting] of this._waiting) {
      clearTimeout(waiting.timer);
      waiting.reject(new NeuroApiError('The kernel is gone', 0));
      this._waiting.delete(id);
    }
  }

  dispose(): void {
    this._model.off('msg:custom', this._onMessage);
    this.lose();
  }

  jobList(): Promise<{ jobs: IJobRow[]; warning: string }> {
    return this.request<{ jobs: IJobRow[]; warning?: string }>('jobs', {}).then(r => ({
      jobs: r.jobs,
      warning: r.warning ?? ''
    }));
  }

  job(rawId: string): Promise<IJob> {
    return this.request('job', { raw_id: rawId });
  }

  jobLog(rawId: string, offset: number, limit: number): Promise<ILogPage> {
    return this.request('log', { raw_id: rawId, offset, limit });
  }

  startJob(_pk: number, jobId: string, options: IStartOptions = {}): Promise<IJob> {
    return this.request('start', { job_id: jobId, ...options }, START_TIMEOUT_MS);
  }

  killJob(_pk: number, jobId: string, suffix = ''): Promise<string[]> {
    return this.request<{ messages: string[] }>('kill', { job_id: jobId, suffix }).then(
      r => r.messages
    );
  }

  private request<T>(op: string, args: Record<string, unknown>, timeout = READ_TIMEOUT_MS): Promise<T> {
    if (this._lost) {
      return Promise.reject(new NeuroApiError('The kernel is gone', 0));
    }
    const id = ++this._next;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this._waiting.delete(id);
        reject(new NeuroApiError(
          `The kernel did not answer in ${timeout / 1000} s (busy running a cell, or gone)`, 0
        ));
      }, timeout);
      this._waiting.set(id, { resolve, reject, timer });
      try {
        this._model.send({ id, op, ...args });
      } catch {
        // the comm is closed: the kernel restarted or stopped
        this.lose();
      }
    });
  }

  private answer(message: any): void {
    const waiting = message && typeof message.id === 'number' ? this._waiting.get(message.id) : undefined;
    if (!waiting) {
      return;
    }
    this._waiting.delete(message.id);
    clearTimeout(waiting.timer);
    if ('error' in message) {
      waiting.reject(new NeuroApiError(String(message.error), Number(message.status) || 500, message.body ?? {}));
    } else {
      waiting.resolve(message.ok);
    }
  }

  private _lost = false;
  private _model: IAnyModel;
  private _next = 0;
  private _onMessage: (message: any) => void;
  private _waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> }>();
}

/** Whether the server's REST API reaches the same store (the same project at this key). */
async function serverApi(model: IAnyModel): Promise<NeuroApi | null> {
  const config = pageConfig();
  const base = config.baseUrl || model.get('base_url');
  if (!base) {
    return null;
  }
  // the page's token only ever goes to the page's own server
  const sameOrigin = new URL(base, window.location.href).origin === window.location.origin;
  if (!sameOrigin) {
    return null;
  }
  const api = new NeuroApi(pageConnection(base, config.token));
  try {
    const project = await api.project(model.get('project_pk'));
    return project.root === model.get('project_root') ? api : null;
  } catch {
    return null; // no extension on this server, or another store
  }
}

/** anywidget's entry point: draw the panel into `el`; returns its clean-up. */
function render({ model, el }: { model: IAnyModel; el: HTMLElement }): () => void {
  const node = h('div', { class: 'nj-widget nj-jobs-panel', 'data-source': 'connecting' });
  el.appendChild(node);
  const kernel = new KernelSource(model);
  let source: 'connecting' | 'server' | 'kernel' = 'connecting';
  let kernelGone = false;
  let jobs = new JobsModel(kernel, model.get('project_pk'));
  const snapshot = model.get('snapshot') as { jobs?: IJobRow[]; warning?: string } | null;
  if (snapshot?.jobs) {
    jobs.rows = snapshot.jobs; // first paint from what the kernel read: no wait
    jobs.warning = snapshot.warning ?? '';
    jobs.loaded = true;
  }
  const host: IJobsViewHost = {
    select: (jobId, suffix) => {
      const key = jobKey(jobId, suffix);
      void jobs.select(jobs.selected === key ? null : key);
    },
    open: url => window.open(url, '_blank', 'noopener'),
    detailsInline: true
  };

  const sourceNote = (): HTMLElement => {
    const text =
      source === 'server'
        ? kernelGone
          ? 'Following the Jupyter server (the kernel that showed this panel is gone)'
          : 'Following the Jupyter server'
        : source === 'kernel'
          ? kernel.lost
            ? 'Disconnected'
            : 'Following the kernel'
          : 'Connecting…';
    return h('span', { class: 'nj-sub nj-source', 'data-source': source }, text);
  };

  const disconnected = (): HTMLElement | null =>
    source === 'kernel' && kernel.lost
      ? h(
          'div',
          { class: 'nj-error nj-disconnected', role: 'alert' },
          'Disconnected: the kernel that showed this panel has restarted or stopped, and this ' +
            "Jupyter server has no neuro-jupyter extension to read the jobs from. The jobs " +
            'below are as last seen. Run ',
          h('code', {}, '%neuro_panel'),
          ' again to re-attach.'
        )
      : null;

  const draw = () => {
    keepFocus(node, () => {
      node.setAttribute('data-source', source);
      const lost = source === 'kernel' && kernel.lost;
      node.classList.toggle('nj-lost', lost);
      if (lost) {
        jobs.forgetMessages(); // what they said is no longer followed
      }
      node.replaceChildren(
        h(
          'div',
          { class: 'nj-row nj-widget-head' },
          h('div', { class: 'nj-title' }, `Live jobs of ${model.get('project_name')}`),
          button(
            'Refresh',
            { class: 'jp-Button jp-mod-styled nj-button nj-refresh', title: 'Read the jobs again now' },
            () => void jobs.refreshQuietly(),
            lost
          ),
          sourceNote()
        ),
        disconnected() ?? (jobs.error ? h('div', { class: 'nj-error', role: 'alert' }, jobs.error) : ''),
        renderJobList(jobs, host),
        jobs.selected !== null
          ? renderJobDetails(jobs, jobs.selected, host, () => void jobs.select(null))
          : ''
      );
      if (lost) {
        node.querySelectorAll('button, input').forEach(b => ((b as HTMLButtonElement).disabled = true));
      }
    });
  };

  let unsubscribe = jobs.subscribe(draw);
  draw();

  const onCommLive = () => {
    // the kernel restarted or stopped (its comm closed): a server-backed panel goes on
    kernelGone = true;
    if (source === 'kernel') {
      kernel.lose();
    }
    draw();
  };
  model.on('comm_live_update', onCommLive);

  const interval = Number(model.get('interval_ms')) || 3000;
  let timer: ReturnType<typeof setInterval> | null = null;
  let disposed = false;
  void serverApi(model).then(api => {
    if (disposed) {
      return;
    }
    if (api) {
      const next = new JobsModel(api, jobs.pk);
      next.rows = jobs.rows;
      next.warning = jobs.warning;
      next.loaded = jobs.loaded;
      unsubscribe();
      jobs.dispose();
      jobs = next;
      unsubscribe = jobs.subscribe(draw);
      source = 'server';
    } else {
      source = 'kernel';
    }
    draw();
    void jobs.refreshQuietly();
    let polling = false; // one read at a time: a busy kernel answers them in a row later
    timer = setInterval(() => {
      const lost = source === 'kernel' && kernel.lost;
      if (!polling && !lost && node.isConnected && document.visibilityState !== 'hidden') {
        polling = true;
        void jobs.refreshQuietly().then(() => {
          polling = false;
          if (source === 'kernel' && kernel.lost) {
            draw();
          }
        });
      }
    }, interval);
  });

  return () => {
    disposed = true;
    if (timer !== null) {
      clearInterval(timer);
    }
    model.off('comm_live_update', onCommLive);
    unsubscribe();
    jobs.dispose();
    kernel.dispose();
  };
}

export default { render };
