/**
 * Neu.ro jobs in JupyterLab's Running panel: a "Neu.ro jobs" section listing the pending and
 * running jobs of every project (grouped by project in the tree view), each stopped from
 * there; a click opens the job's web page, or its details in the sidebar.
 */
import { IRunningSessions } from '@jupyterlab/running';
import { LabIcon } from '@jupyterlab/ui-components';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { IRunningJob, NeuroApi } from './api';
import { jobLabel } from './dom';

/** What a click on a job does. */
export interface IRunningHost {
  /** Open its web page, or its details in the sidebar when it has none. */
  open(run: IRunningJob): void;
  /** Report an error (a stop that failed). */
  error(message: string): void;
}

/** The Running panel's manager of Neu.ro jobs. */
export class RunningJobs implements IRunningSessions.IManager {
  constructor(api: NeuroApi, icon: LabIcon, host: IRunningHost, interval = 5000) {
    this._api = api;
    this._icon = icon;
    this._host = host;
    this._poll = new Poll({
      auto: true,
      factory: () => this.fetch(),
      frequency: { interval, backoff: true, max: 60 * 1000 },
      name: 'neuro-jupyter:running',
      // idle while the Running panel is closed, and while the browser tab is hidden
      standby: () => !this.shown || 'when-hidden'
    });
  }

  /** Whether the Running panel shows (set by the plugin; the poll only runs while it does). */
  get shown(): boolean {
    return this._shown;
  }

  set shown(value: boolean) {
    if (value !== this._shown) {
      this._shown = value;
      if (value) {
        this.refreshRunning();
      }
    }
  }

  readonly name = 'Neu.ro jobs';
  readonly supportsMultipleViews = true;
  readonly shutdownLabel = 'Stop';
  readonly shutdownAllLabel = 'Stop All';
  readonly shutdownAllConfirmationText =
    'Stop every pending and running Neu.ro job, in every project?';

  get runningChanged(): ISignal<this, void> {
    return this._changed;
  }

  /** The runs as last read. */
  get runs(): readonly IRunningJob[] {
    return this._runs;
  }

  running(options: { mode: 'tree' | 'list' } = { mode: 'list' }): IRunningSessions.IRunningItem[] {
    const items = this._runs.map(run => this.item(run, options.mode === 'list'));
    if (options.mode === 'list') {
      return items;
    }
    const projects = new Map<number, { name: string; items: IRunningSessions.IRunningItem[]; runs: IRunningJob[] }>();
    this._runs.forEach((run, i) => {
      const group = projects.get(run.project.pk) ?? { name: run.project.name, items: [], runs: [] };
      group.items.push(items[i]);
      group.runs.push(run);
      projects.set(run.project.pk, group);
    });
    return [...projects.values()].map(group => ({
      icon: () => this._icon,
      label: () => group.name || 'a project',
      labelTitle: () => `${group.runs.length} running in ${group.name}`,
      className: 'nj-running-project',
      children: group.items,
      shutdown: () => void this.stop(group.runs)
    }));
  }

  refreshRunning(): void {
    void this._poll.refresh();
  }

  shutdownAll(): void {
    void this.stop(this._runs);
  }

  /** Read again now. */
  async refresh(): Promise<void> {
    await this._poll.refresh();
  }

  dispose(): void {
    this._poll.dispose();
    Signal.clearData(this);
  }

  private item(run: IRunningJob, withProject: boolean): IRunningSessions.IRunningItem {
    const label = jobLabel(run.job_id, run.suffix);
    return {
      icon: () => this._icon,
      label: () => label,
      labelTitle: () =>
        `${label} (${run.status}) in ${run.project.name}: ${run.raw_id}` +
        (run.url ? `\nClick to open ${run.url}` : ''),
      detail: () =>
        [run.status === 'running' ? '' : run.status, withProject ? run.project.name : '']
          .filter(part => part)
          .join(' · '),
      className: `nj-running-job nj-running-${run.status}`,
      context: run.raw_id,
      open: () => this._host.open(run),
      shutdown: () => void this.stop([run])
    };
  }

  private async stop(runs: IRunningJob[]): Promise<void> {
    await Promise.all(
      runs.map(run =>
        this._api
          .killJob(run.project.pk, run.job_id, run.suffix)
          .catch(error => this._host.error(`Could not stop ${jobLabel(run.job_id, run.suffix)}: ${(error as Error).message}`))
      )
    );
    await this.refresh();
  }

  private async fetch(): Promise<void> {
    const runs = await this._api.running();
    const before = JSON.stringify(this._runs.map(r => [r.raw_id, r.status, r.url]));
    const after = JSON.stringify(runs.map(r => [r.raw_id, r.status, r.url]));
    this._runs = runs;
    if (before !== after) {
      this._changed.emit();
    }
  }

  private _api: NeuroApi;
  private _changed = new Signal<this, void>(this);
  private _host: IRunningHost;
  private _icon: LabIcon;
  private _poll: Poll;
  private _runs: IRunningJob[] = [];
  private _shown = false;
}
