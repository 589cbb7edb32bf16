/**
 * The state of one project's live jobs, shared by the sidebar and the notebook jobs panel:
 * the rows (grouped per job, a multi job's instances under it), the job whose details show,
 * Start and Stop in progress, and the messages they leave.
 *
 * It reads and acts through an `IJobsSource` (the REST API, or the notebook kernel when the
 * server has no neuro-jupyter extension) and imports nothing from JupyterLab.
 *
 * A Start shows progress until the run is running or has ended (the request itself waits
 * while a web job's page comes up); a Stop until the run has ended. A message is dropped once
 * it is stale: progress when its action settles, a note after a few seconds, a note or an
 * error once the job's state changes or the user acts on the job again.
 */
import { IJob, IJobRow, ILogPage, IStartOptions, NeuroApiError } from '../api';
import { jobLabel } from '../dom';

/** What the model reads and acts through (the REST client or the notebook's kernel). */
export interface IJobsSource {
  jobList(pk: number): Promise<{ jobs: IJobRow[]; warning: string }>;
  job(rawId: string): Promise<IJob>;
  jobLog(rawId: string, offset: number, limit: number): Promise<ILogPage>;
  startJob(pk: number, jobId: string, options?: IStartOptions): Promise<IJob>;
  killJob(pk: number, jobId: string, suffix?: string): Promise<string[]>;
}

/** How many bytes of a job's log the details show (the tail). */
export const LOG_TAIL_BYTES = 64 * 1024;
/** Finished instances of a multi job shown before "N older". */
export const FINISHED_SHOWN = 5;
/** How long a note (not an error) stays up, in milliseconds. */
export const NOTE_MS = 10_000;
/** How long a stopped job may still run before Stop says it did not work. */
export const STOP_PATIENCE_MS = 40_000;
/** How often the model re-reads while a Start or Stop is in progress. */
export const FOLLOW_MS = 1000;

/** The key of a job row: its label (`train`, `jupyter 3f2a`). */
export function jobKey(jobId: string, suffix: string): string {
  return jobLabel(jobId, suffix);
}

/** The key of a multi job's instance being started without a suffix (the server picks one). */
export function newInstanceKey(jobId: string): string {
  return `${jobId} +new`;
}

/** Whether a status is pending or running. */
export function isActive(status: string): boolean {
  return status === 'pending' || status === 'running';
}

/** A job of live.yml with its rows: one row, or a multi job's instances. */
export interface IJobGroup {
  jobId: string;
  title: string;
  multi: boolean;
  params: Record<string, string | null>;
  /** The rows shown: a plain job's one row; a multi job's active and latest instances. */
  rows: IJobRow[];
  /** A multi job's finished instances left out (older than the shown ones). */
  older: number;
}

/** A user message about a job (or a multi job's new instance). */
export interface IMessage {
  kind: 'progress' | 'note' | 'error';
  text: string;
  /** When it was set (ms): progress shows the time since, notes expire. */
  since: number;
  /** The job's status when the message was set: an error goes once it changes. */
  status: string;
}

/** A Start or Stop in progress. */
interface IOperation {
  action: 'start' | 'stop';
  label: string;
  since: number;
  /** The request has answered. */
  answered: boolean;
  /** The run it is about (once known). */
  rawId?: string;
  /** For a new instance of a multi job: the instances there were before it. */
  before?: Set<string>;
}

/** The "start with…" form of a job: suffix (multi jobs), params and `multi.args`. */
export interface IStartForm {
  jobId: string;
  suffix: string;
  params: Record<string, string>;
  args: string;
  error: string;
}

/** The details of the selected job: its latest run and the tail of its log. */
export interface IJobDetails {
  key: string;
  job: IJob | null;
  log: string;
}

/** Split `--lr 0.1 --name "a b"` as a shell would (quotes, backslashes; no expansions). */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let word = '';
  let started = false;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) {
        quote = null;
      } else if (c === '\\' && quote === '"' && i + 1 < text.length) {
        word += text[++i];
      } else {
        word += c;
      }
    } else if (c === '"' || c === "'") {
      quote = c;
      started = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      started = true;
    } else if (/\s/.test(c)) {
      if (started) {
        out.push(word);
      }
      word = '';
      started = false;
    } else {
      word += c;
      started = true;
    }
  }
  if (quote) {
    throw new Error(`Unclosed ${quote} in the arguments`);
  }
  if (started) {
    out.push(word);
  }
  return out;
}

function errorText(error: unknown): string {
  return (error as Error)?.message ?? String(error);
}

/** A project's live jobs, their details, actions in progress and messages. */
export class JobsModel {
  constructor(
    source: IJobsSource,
    pk: number,
    options: { now?: () => number } = {}
  ) {
    this.source = source;
    this.pk = pk;
    this._now = options.now ?? (() => Date.now());
  }

  readonly source: IJobsSource;
  readonly pk: number;

  /** The ps rows as last read. */
  rows: IJobRow[] = [];
  /** Why live.yml's jobs are missing (it does not load), '' when it loads. */
  warning = '';
  /** The error of the last refresh, '' when it worked. */
  error = '';
  /** Whether the rows have been read once. */
  loaded = false;
  /** The key of the job whose details show, or null. */
  selected: string | null = null;
  details: IJobDetails | null = null;
  form: IStartForm | null = null;
  /** Groups of multi jobs whose older instances show too. */
  readonly expanded = new Set<string>();

  /** Call `listener` after every change; returns the function that disconnects it. */
  subscribe(listener: () => void): () => void {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    this._disposed = true;
    this._listeners.clear();
    if (this._follow !== null) {
      clearTimeout(this._follow);
      this._follow = null;
    }
  }

  /** The rows grouped per job, in the order of the rows (ps: by job id, then suffix). */
  groups(): IJobGroup[] {
    const groups = new Map<string, IJobGroup>();
    const all = new Map<string, IJobRow[]>();
    for (const row of this.rows) {
      let group = groups.get(row.job_id);
      if (!group) {
        group = {
          jobId: row.job_id,
          title: row.title,
          multi: row.multi,
          params: row.params ?? {},
          rows: [],
          older: 0
        };
        groups.set(row.job_id, group);
        all.set(row.job_id, []);
      }
      if (!group.title && row.title) {
        group.title = row.title;
      }
      all.get(row.job_id)!.push(row);
    }
    for (const group of groups.values()) {
      const rows = all.get(group.jobId)!;
      if (!group.multi) {
        group.rows = rows;
        continue;
      }
      // a multi job's instances: the active ones, then the latest finished ones
      const ran = rows.filter(r => r.raw_id !== null || r.suffix);
      const active = ran.filter(r => isActive(r.status));
      const ended = ran
        .filter(r => !isActive(r.status))
        .sort((a, b) => (b.when ?? 0) - (a.when ?? 0));
      const shown = this.expanded.has(group.jobId)
        ? ended
        : ended.slice(0, FINISHED_SHOWN);
      group.rows = [...active.sort((a, b) => (b.when ?? 0) - (a.when ?? 0)), ...shown];
      group.older = ended.length - shown.length;
    }
    return [...groups.values()];
  }

  /** The row of a key, if listed. */
  row(key: string): IJobRow | undefined {
    return this.rows.find(r => jobKey(r.job_id, r.suffix) === key);
  }

  /** The message about a key (a job row, or a multi job's new instance), if any. */
  message(key: string): IMessage | undefined {
    const message = this._messages.get(key);
    if (message?.kind === 'note' && this._now() - message.since > NOTE_MS) {
      this._messages.delete(key);
      return undefined;
    }
    return message;
  }

  /** Keys of a job's messages that no row shows: a new instance being started (with or
   * without a suffix of the user's), listed once the server has recorded it. */
  pendingKeys(jobId: string): string[] {
    return [...this._messages.keys()].filter(
      key => key.startsWith(`${jobId} `) && this.row(key) === undefined
    );
  }

  /** Drop the message about a key (the user closed it). */
  dismiss(key: string): void {
    if (this._messages.delete(key)) {
      this.emit();
    }
  }

  /** Drop every message (the view no longer follows the jobs). */
  forgetMessages(): void {
    this._messages.clear();
  }

  /** 'start' or 'stop' while that action on the key is in progress. */
  operation(key: string): 'start' | 'stop' | null {
    return this._ops.get(key)?.action ?? null;
  }

  /** Milliseconds since the message about `key` was set (for "Starting… 3 s"). */
  elapsed(key: string): number {
    const message = this._messages.get(key);
    return message ? this._now() - message.since : 0;
  }

  /** The status a row shows: `starting`/`stopping` while acted on, `never` if it never ran. */
  displayStatus(row: IJobRow): string {
    const key = jobKey(row.job_id, row.suffix);
    const op = this._ops.get(key)?.action;
    if (op === 'start' || this.isNewInstance(row)) {
      return 'starting';
    }
    if (op === 'stop' && isActive(row.status)) {
      return 'stopping';
    }
    if (row.raw_id === null && !row.suffix) {
      return 'never';
    }
    return row.status;
  }

  /** Whether a row is the new instance a Start still waits for (listed before the server
   * answered: it runs while the server waits for its web page). */
  isNewInstance(row: IJobRow): boolean {
    const op = this._ops.get(newInstanceKey(row.job_id));
    return op?.before !== undefined && !op.before.has(jobKey(row.job_id, row.suffix));
  }

  /** Show the details of a job (null: none). */
  async select(key: string | null): Promise<void> {
    if (key === this.selected) {
      return;
    }
    this.selected = key;
    this.details = null;
    this.emit();
    await this.refreshQuietly();
  }

  /** Show or hide a multi job's older instances. */
  toggleOlder(jobId: string): void {
    if (!this.expanded.delete(jobId)) {
      this.expanded.add(jobId);
    }
    this.emit();
  }

  /** Open the "start with…" form of a job, its params filled with their defaults. */
  openForm(jobId: string): void {
    const group = this.groups().find(g => g.jobId === jobId);
    const params: Record<string, string> = {};
    for (const [name, value] of Object.entries(group?.params ?? {})) {
      params[name] = value ?? '';
    }
    this.form = { jobId, suffix: '', params, args: '', error: '' };
    this.emit();
  }

  closeForm(): void {
    this.form = null;
    this.emit();
  }

  /** Keep what the user typed into the form (no re-render: the inputs hold it already). */
  editForm(field: 'suffix' | 'args' | string, value: string, param = false): void {
    if (!this.form) {
      return;
    }
    if (param) {
      this.form.params[field] = value;
    } else if (field === 'suffix' || field === 'args') {
      this.form[field] = value;
    }
  }

  /** Start the job of the open form with its suffix, changed params and arguments. */
  async submitForm(): Promise<void> {
    const form = this.form;
    if (!form) {
      return;
    }
    const group = this.groups().find(g => g.jobId === form.jobId);
    const defaults = group?.params ?? {};
    const params: Record<string, string> = {};
    const missing: string[] = [];
    for (const [name, value] of Object.entries(form.params)) {
      if (defaults[name] === null && !value.trim()) {
        missing.push(name);
      } else if (value !== (defaults[name] ?? '')) {
        params[name] = value;
      }
    }
    let args: string[];
    try {
      args = splitArgs(form.args);
    } catch (error) {
      form.error = errorText(error);
      this.emit();
      return;
    }
    if (missing.length) {
      form.error = `Required: ${missing.join(', ')}`;
      this.emit();
      return;
    }
    this.form = null;
    await this.start(form.jobId, form.suffix.trim(), { params, args });
  }

  /**
   * Start a job: a multi job without a suffix starts a new instance (the server picks its
   * suffix). Progress shows until the run is running or has ended.
   */
  async start(jobId: string, suffix = '', options: IStartOptions = {}): Promise<void> {
    const multi = this.rows.some(r => r.job_id === jobId && r.multi);
    const fresh = multi && !suffix;
    const key = fresh ? newInstanceKey(jobId) : jobKey(jobId, suffix);
    if (this._ops.has(key)) {
      return;
    }
    const label = fresh ? `a new ${jobId} instance` : jobLabel(jobId, suffix);
    const before = fresh
      ? new Set(this.rows.filter(r => r.job_id === jobId).map(r => jobKey(r.job_id, r.suffix)))
      : undefined;
    this._ops.set(key, { action: 'start', label, since: this._now(), answered: false, before });
    this.say(key, 'progress', `Starting ${label}…`);
    try {
      const job = await this.source.startJob(this.pk, jobId, { ...options, suffix });
      this._ops.delete(key);
      const real = jobKey(job.job_id, job.suffix);
      if (real !== key) {
        this._messages.delete(key);
        if (this.selected === key || (fresh && this.selected === jobKey(jobId, ''))) {
          this.selected = real; // the details follow the new instance
        }
      }
      this._ops.set(real, {
        action: 'start',
        label: jobLabel(job.job_id, job.suffix),
        since: this._now(),
        answered: true,
        rawId: job.raw_id
      });
      this.put(job);
      this.settle(real, job);
    } catch (error) {
      this._ops.delete(key);
      const running = (error as NeuroApiError).body?.job as IJob | undefined;
      if ((error as NeuroApiError).status === 409 && running) {
        this.say(key, 'note', `${label} is ${running.status} already`, running.status);
      } else {
        this.say(key, 'error', `Could not start ${label}: ${errorText(error)}`);
      }
    }
    await this.refreshQuietly();
  }

  /** Stop a job's active run; progress shows until it has ended. */
  async stop(jobId: string, suffix = ''): Promise<void> {
    const key = jobKey(jobId, suffix);
    if (this._ops.get(key)?.action === 'stop') {
      return;
    }
    const label = jobLabel(jobId, suffix);
    const op: IOperation = {
      action: 'stop',
      label,
      since: this._now(),
      answered: false,
      rawId: this.row(key)?.raw_id ?? undefined
    };
    this._ops.set(key, op);
    this.say(key, 'progress', `Stopping ${label}…`);
    try {
      await this.source.killJob(this.pk, jobId, suffix);
      op.answered = true;
    } catch (error) {
      this._ops.delete(key);
      this.say(key, 'error', `Could not stop ${label}: ${errorText(error)}`);
    }
    await this.refreshQuietly();
  }

  /** Read the rows (and the selected job's details) again. */
  async refresh(): Promise<void> {
    if (this._disposed) {
      return;
    }
    const seq = ++this._seq;
    let list: { jobs: IJobRow[]; warning: string };
    let details: IJobDetails | null = null;
    try {
      list = await this.source.jobList(this.pk);
      const selected = this.selected;
      const row = selected === null ? undefined : findRow(list.jobs, selected);
      if (selected !== null && row?.raw_id) {
        const [job, log] = await Promise.all([
          this.source.job(row.raw_id),
          this.source.jobLog(row.raw_id, -LOG_TAIL_BYTES, LOG_TAIL_BYTES)
        ]);
        details = { key: selected, job, log: log.text };
      } else if (selected !== null) {
        details = { key: selected, job: null, log: '' };
      }
    } catch (error) {
      if (seq === this._seq && !this._disposed) {
        this.error = errorText(error);
        this.emit();
        this.followSoon();
      }
      throw error;
    }
    if (seq !== this._seq || this._disposed) {
      return; // a later refresh has answered, or will
    }
    const before = JSON.stringify([this.rows, this.warning, this.details, this.error]);
    this.rows = list.jobs;
    this.warning = list.warning;
    this.error = '';
    this.loaded = true;
    if (details?.key === this.selected) {
      this.details = details;
    }
    await this.settleAll();
    const after = JSON.stringify([this.rows, this.warning, this.details, this.error]);
    if (before !== after || this._ops.size || this._messages.size || !this._shown) {
      this._shown = true;
      this.emit();
    }
    this.followSoon();
  }

  /** `refresh`, its error shown in `error` rather than thrown (for user actions). */
  async refreshQuietly(): Promise<void> {
    await this.refresh().catch(() => undefined);
  }

  /** Notify the listeners. */
  emit(): void {
    for (const listener of [...this._listeners]) {
      listener();
    }
  }

  private say(key: string, kind: IMessage['kind'], text: string, status?: string): void {
    this._messages.set(key, {
      kind,
      text,
      since: this._now(),
      status: status ?? this.row(key)?.status ?? ''
    });
    this.emit();
  }

  /** Show a run the server just answered before the next read lists it. */
  private put(job: IJob): void {
    const key = jobKey(job.job_id, job.suffix);
    const template = this.rows.find(r => r.job_id === job.job_id);
    const row: IJobRow = {
      job_id: job.job_id,
      suffix: job.suffix,
      title: template?.title ?? '',
      multi: template?.multi ?? false,
      browse: template?.browse ?? false,
      params: template?.params,
      raw_id: job.raw_id,
      status: job.status,
      url: job.url,
      when: job.started_at ?? job.created_at,
      backend: job.backend,
      backend_name: job.backend_name,
      backend_label: job.backend_label
    };
    const index = this.rows.findIndex(r => jobKey(r.job_id, r.suffix) === key);
    const placeholder = this.rows.findIndex(
      r => r.job_id === job.job_id && r.raw_id === null && !r.suffix
    );
    if (index >= 0) {
      this.rows[index] = row;
    } else if (placeholder >= 0 && job.suffix) {
      this.rows[placeholder] = row; // a multi job's first instance replaces "never ran"
    } else {
      this.rows.push(row);
    }
  }

  /** Settle every operation against the rows just read. */
  private async settleAll(): Promise<void> {
    for (const [key, op] of [...this._ops]) {
      const row = this.row(key);
      if (!op.answered && op.action === 'start') {
        continue; // the request is still out: the server waits for the run itself
      }
      if (op.action === 'stop' && row && !isActive(row.status)) {
        this.settle(key, null);
        continue;
      }
      if (op.action === 'stop' && op.answered && this._now() - op.since > STOP_PATIENCE_MS) {
        this._ops.delete(key);
        this.say(key, 'error', `${op.label} still runs after Stop; try again`);
        continue;
      }
      if (op.action === 'start' && row && row.raw_id === op.rawId && row.status !== 'pending') {
        let job: IJob | null = null;
        if (!isActive(row.status) && op.rawId) {
          try {
            job = await this.source.job(op.rawId); // for the reason it ended
          } catch {
            job = null;
          }
        }
        this.settle(key, job);
      }
    }
    for (const [key, message] of [...this._messages]) {
      const row = this.row(key);
      const moved = row !== undefined && message.status !== '' && row.status !== message.status;
      const stale =
        (message.kind === 'note' && (this._now() - message.since > NOTE_MS || moved)) ||
        (message.kind === 'error' && moved) ||
        (message.kind === 'progress' && !this._ops.has(key));
      if (stale) {
        this._messages.delete(key);
      }
    }
  }

  /** End an operation once its run runs or has ended, leaving a note or an error. */
  private settle(key: string, job: IJob | null): void {
    const op = this._ops.get(key);
    if (!op) {
      return;
    }
    const row = this.row(key);
    const status = job?.status ?? row?.status ?? '';
    if (op.action === 'start') {
      if (status === 'pending') {
        this.say(key, 'progress', `${op.label} is pending (waiting to run)…`);
        return;
      }
      this._ops.delete(key);
      if (status === 'running') {
        this.say(key, 'note', `${op.label} is running`, status);
      } else if (status === 'failed') {
        const why = job?.reason ? `: ${job.reason}` : '';
        const code = job?.exit_code !== null && job?.exit_code !== undefined
          ? ` (exit code ${job.exit_code})` : '';
        this.say(key, 'error', `${op.label} failed${why}${code}`, status);
      } else {
        this.say(key, 'note', `${op.label} ran and ${status || 'ended'}`, status);
      }
      return;
    }
    this._ops.delete(key);
    this.say(key, 'note', `${op.label} stopped${status ? ` (${status})` : ''}`, status);
  }

  /** While an action is in progress, read again soon (the host's poll is slower). */
  private followSoon(): void {
    if (this._follow !== null || this._disposed) {
      return;
    }
    const waiting = [...this._ops.values()].some(op => op.answered);
    const notes = [...this._messages.values()].some(m => m.kind === 'note');
    if (!waiting && !notes) {
      return;
    }
    this._follow = setTimeout(
      () => {
        this._follow = null;
        void this.refreshQuietly();
      },
      waiting ? FOLLOW_MS : NOTE_MS / 2
    );
  }

  private _disposed = false;
  private _follow: ReturnType<typeof setTimeout> | null = null;
  private _listeners = new Set<() => void>();
  private _messages = new Map<string, IMessage>();
  private _now: () => number;
  private _ops = new Map<string, IOperation>();
  private _seq = 0;
  private _shown = false;
}

function findRow(rows: IJobRow[], key: string): IJobRow | undefined {
  return rows.find(r => jobKey(r.job_id, r.suffix) === key);
}
