/**
 * The sidebar's state: which view is shown (projects → project → job or bake) and its data,
 * refreshed by a `Poll` with backoff that stands by while the browser tab is hidden.
 */
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { IBake, IBakeGraph, IJob, IJobRow, IProject, NeuroApi } from './api';

/** How many bytes of a job's log the details view shows (the tail). */
export const LOG_TAIL_BYTES = 64 * 1024;

/** What the sidebar shows. */
export type View =
  | { kind: 'projects' }
  | { kind: 'project'; project: IProject }
  | { kind: 'job'; project: IProject; jobId: string; suffix: string }
  | { kind: 'bake'; project: IProject; bakeId: string; attempt?: number };

/** The data of the current view, as last fetched. */
export interface IViewData {
  projects: IProject[];
  jobs: IJobRow[];
  jobsWarning: string;
  bakes: IBake[];
  jobRow: IJobRow | null;
  job: IJob | null;
  log: string;
  /** The bake shown: its attempt's graph and tasks' state (the graph component's data). */
  bake: IBakeGraph | null;
}

function emptyData(): IViewData {
  return {
    projects: [],
    jobs: [],
    jobsWarning: '',
    bakes: [],
    jobRow: null,
    job: null,
    log: '',
    bake: null
  };
}

/** Statuses after which a job or bake no longer changes. */
const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'skipped', 'cached']);

/** The sidebar's model. */
export class NeuroModel implements IDisposable {
  constructor(api: NeuroApi, options: NeuroModel.IOptions = {}) {
    this.api = api;
    this._poll = new Poll({
      auto: true,
      factory: () => this.refresh(),
      frequency: {
        interval: options.interval ?? 3000,
        backoff: true,
        max: options.maxInterval ?? 60 * 1000
      },
      name: 'neuro-jupyter:refresh',
      // idle while the sidebar is closed, and while the browser tab is hidden
      standby: () => !this._active || 'when-hidden'
    });
  }

  /** Whether the sidebar is shown: the poll only runs while it is. */
  get active(): boolean {
    return this._active;
  }

  set active(value: boolean) {
    if (value === this._active) {
      return;
    }
    this._active = value;
    if (value) {
      void this.refreshNow();
    }
  }

  readonly api: NeuroApi;

  /** Emitted when the view, its data, the error or the busy flag change. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get view(): View {
    return this._view;
  }

  get data(): IViewData {
    return this._data;
  }

  /** The last error message (network or server), '' when the last refresh worked. */
  get error(): string {
    return this._error;
  }

  /** The error of the last user action (start, stop, cancel, restart), '' if it worked. */
  get actionError(): string {
    return this._actionError;
  }

  /** A user action (start, stop, cancel, restart) is in flight. */
  get busy(): boolean {
    return this._busy;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Show a view and fetch its data now. */
  async show(view: View): Promise<void> {
    this._view = view;
    this._data = emptyData();
    this._error = '';
    this._actionError = '';
    this._changed.emit();
    await this.refreshNow();
  }

  /** Refresh now (and restart the poll's schedule). */
  async refreshNow(): Promise<void> {
    await this._poll.refresh();
  }

  /** Start the job shown, or the given one. */
  async startJob(): Promise<void> {
    const view = this._view;
    if (view.kind !== 'job') {
      return;
    }
    await this.act(async () => {
      const job = await this.api.startJob(view.project.pk, view.jobId, view.suffix);
      if (this._view === view && job.suffix !== view.suffix) {
        // a multi job started without a suffix got one: follow that run
        this._view = { ...view, suffix: job.suffix };
      }
    });
  }

  /** Stop (kill) the job shown. */
  async stopJob(): Promise<void> {
    const view = this._view;
    if (view.kind !== 'job') {
      return;
    }
    await this.act(() =>
      this.api.killJob(view.project.pk, view.jobId, view.suffix)
    );
  }

  /** The proxy URL of the job shown, if it serves a web UI and runs. */
  get jobUrl(): string | null {
    const job = this._data.job;
    return this._view.kind === 'job' && job && job.status === 'running'
      ? job.url
      : null;
  }

  /** Whether the job shown has an active (pending or running) run. */
  get jobActive(): boolean {
    const status = this._data.job?.status ?? this._data.jobRow?.status ?? '';
    return status === 'pending' || status === 'running';
  }

  /** Whether the bake shown is still running. */
  get bakeActive(): boolean {
    const result = this._data.bake?.attempt.result ?? '';
    return result !== '' && !FINAL.has(result);
  }

  /** Cancel the bake shown. */
  async cancelBake(): Promise<void> {
    const view = this._view;
    if (view.kind !== 'bake') {
      return;
    }
    await this.act(() => this.api.cancelBake(view.project.pk, view.bakeId));
  }

  /** Restart the bake shown from its failed tasks, as a new attempt. */
  async restartBake(): Promise<void> {
    const view = this._view;
    if (view.kind !== 'bake') {
      return;
    }
    await this.act(async () => {
      await this.api.restartBake(view.project.pk, view.bakeId);
      this._view = { ...view, attempt: undefined };
    });
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._poll.dispose();
    Signal.clearData(this);
  }

  /** Fetch the data of the current view; rejects on errors so the poll backs off. */
  async refresh(): Promise<void> {
    const view = this._view;
    try {
      const data = await this.fetch(view);
      if (view !== this._view) {
        return; // the user moved on while this was in flight
      }
      const changed =
        JSON.stringify(data) !== JSON.stringify(this._data) || this._error !== '';
      this._data = data;
      this._error = '';
      if (changed) {
        this._changed.emit();
      }
    } catch (error) {
      if (view === this._view) {
        this._error = (error as Error).message ?? String(error);
        this._changed.emit();
      }
      throw error;
    }
  }

  private async fetch(view: View): Promise<IViewData> {
    const data: IViewData = emptyData();
    switch (view.kind) {
      case 'projects':
        data.projects = await this.api.projects();
        break;
      case 'project': {
        const [jobs, bakes] = await Promise.all([
          this.api.jobList(view.project.pk),
          this.api.bakes(view.project.pk)
        ]);
        data.jobs = jobs.jobs;
        data.jobsWarning = jobs.warning;
        data.bakes = bakes;
        break;
      }
      case 'job': {
        const rows = await this.api.jobs(view.project.pk);
        data.jobRow =
          rows.find(r => r.job_id === view.jobId && r.suffix === view.suffix) ??
          null;
        const rawId = data.jobRow?.raw_id;
        if (rawId) {
          const [job, log] = await Promise.all([
            this.api.job(rawId),
            this.api.jobLog(rawId, -LOG_TAIL_BYTES, LOG_TAIL_BYTES)
          ]);
          data.job = job;
          data.log = log.text;
        }
        break;
      }
      case 'bake': {
        // one request: the graph component recolours in place and lays out only new tasks
        data.bake = await this.api.bakeGraph(view.project.pk, view.bakeId, view.attempt);
        break;
      }
    }
    return data;
  }

  private async act(action: () => Promise<unknown>): Promise<void> {
    this._busy = true;
    this._actionError = '';
    this._changed.emit();
    try {
      await action();
    } catch (error) {
      this._actionError = (error as Error).message ?? String(error);
    } finally {
      this._busy = false;
      this._changed.emit();
    }
    await this.refreshNow();
  }

  private _actionError = '';
  private _active = false;
  private _busy = false;
  private _changed = new Signal<this, void>(this);
  private _data: IViewData = emptyData();
  private _error = '';
  private _isDisposed = false;
  private _poll: Poll;
  private _view: View = { kind: 'projects' };
}

/** The model's namespace. */
export namespace NeuroModel {
  /** Options of the model. */
  export interface IOptions {
    /** Milliseconds between refreshes (default 3000). */
    interval?: number;
    /** Largest backoff interval in milliseconds (default 60000). */
    maxInterval?: number;
  }
}
