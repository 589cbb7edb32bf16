/**
 * The sidebar's state: which view is shown (projects → project → job or bake) and its data,
 * refreshed by a `Poll` with backoff that stands by while the browser tab is hidden. A
 * project's live jobs are a `JobsModel` (jobs/model.ts), the same as the notebook panel's.
 */
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import {
  IBake,
  IBakeGraph,
  IProject,
  NeuroApi
} from './api';
import { knownKey, sameAnswer, withStructure } from './graph/answers';
import { jobKey, JobsModel } from './jobs/model';

/** What the sidebar shows. */
export type View =
  | { kind: 'projects' }
  | { kind: 'project'; project: IProject }
  | { kind: 'job'; project: IProject; jobId: string; suffix: string }
  | { kind: 'bake'; project: IProject; bakeId: string; attempt?: number };

/** The data of the current view, as last fetched. */
export interface IViewData {
  projects: IProject[];
  bakes: IBake[];
  /** The bake shown: its attempt's graph and tasks' state (the graph component's data). */
  bake: IBakeGraph | null;
}

/** Whether two fetches found the same (a bake's 10,000 tasks compared column by column). */
function sameData(a: IViewData, b: IViewData): boolean {
  return (
    JSON.stringify([a.projects, a.bakes]) === JSON.stringify([b.projects, b.bakes]) &&
    sameAnswer(a.bake, b.bake)
  );
}

function emptyData(): IViewData {
  return {
    projects: [],
    bakes: [],
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

  /** The live jobs of the project shown (in the project and job views), else null. */
  get jobs(): JobsModel | null {
    return this._jobs;
  }

  /** Show a view and fetch its data now. */
  async show(view: View): Promise<void> {
    this._view = view;
    this._data = emptyData();
    this._error = '';
    this._actionError = '';
    this.followJobs(view);
    this._changed.emit();
    await this.refreshNow();
  }

  /** Keep a JobsModel for the project of the view, its selection the job shown. */
  private followJobs(view: View): void {
    const pk = view.kind === 'project' || view.kind === 'job' ? view.project.pk : null;
    if (this._jobs && this._jobs.pk !== pk) {
      this._jobs.dispose();
      this._jobs = null;
    }
    if (pk !== null && !this._jobs) {
      const jobs = new JobsModel(this.api, pk);
      jobs.subscribe(() => this.onJobsChanged(jobs));
      this._jobs = jobs;
    }
    if (this._jobs) {
      this._jobs.selected = view.kind === 'job' ? jobKey(view.jobId, view.suffix) : null;
      this._jobs.details = null;
    }
  }

  /** A change of the jobs: redraw, and follow a multi job's new instance in the job view. */
  private onJobsChanged(jobs: JobsModel): void {
    const view = this._view;
    const row = jobs.selected === null ? undefined : jobs.row(jobs.selected);
    if (view.kind === 'job' && row && jobKey(view.jobId, view.suffix) !== jobs.selected) {
      this._view = { ...view, jobId: row.job_id, suffix: row.suffix };
    }
    this._changed.emit();
  }

  /** Refresh now (and restart the poll's schedule). */
  async refreshNow(): Promise<void> {
    await this._poll.refresh();
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
    this._jobs?.dispose();
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
      const changed = !sameData(data, this._data) || this._error !== '';
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
        const [bakes] = await Promise.all([
          this.api.bakes(view.project.pk),
          this._jobs?.refresh()
        ]);
        data.bakes = bakes;
        break;
      }
      case 'job':
        await this._jobs?.refresh();
        break;
      case 'bake': {
        // one request: the graph component recolours in place and lays out only new tasks;
        // the structure comes only when it is not the one shown (its key is a digest)
        const shown = this._data.bake;
        const answer = await this.api.bakeGraph(view.project.pk, view.bakeId, view.attempt, knownKey(shown));
        data.bake = withStructure(answer, shown);
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
  private _jobs: JobsModel | null = null;
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
