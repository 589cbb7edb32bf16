/**
 * REST client for the neuro-jupyter server extension (`<base_url>neuro-jupyter/api/`).
 *
 * The routes are documented in `neuro_jupyter/server/handlers.py`. The client imports nothing
 * from JupyterLab, so the notebook widgets can bundle it: it sends its requests through an
 * `IConnection` (in JupyterLab, `ServerConnection.makeRequest`, which adds the token and the
 * XSRF cookie; see `lab_api.ts`).
 */

import { IBakeGraph } from './graph/types';

export type { IBakeGraph } from './graph/types';

/** The URL namespace of the server extension. */
export const API_NAMESPACE = 'neuro-jupyter/api';

/** How requests reach the Jupyter server. */
export interface IConnection {
  /** The server's base URL (`/` or `/user/NAME/`, possibly with scheme and host). */
  baseUrl: string;
  /** Send one request (adding whatever authentication the server needs). */
  fetch(url: string, init: RequestInit): Promise<Response>;
}

/** `a/` + `b` without doubled or missing slashes. */
export function joinUrl(base: string, ...parts: string[]): string {
  let url = base.endsWith('/') ? base : `${base}/`;
  url += parts.map(p => p.replace(/^\/+|\/+$/g, '')).filter(p => p).join('/');
  return url;
}

/** A recorded project. */
export interface IProject {
  pk: number;
  project_id: string;
  name: string;
  root: string;
  created_at: number;
  opened_at: number;
  /** Its folder under the server's root, as JupyterLab names paths; null outside it. */
  path?: string | null;
}

/** A live job of a project: a live.yml job with the state of its latest run. */
export interface IJobRow {
  job_id: string;
  suffix: string;
  label?: string;
  /** The job's `title:` (or its action's name); '' when it has neither. */
  title: string;
  multi: boolean;
  browse: boolean;
  /** Its params: name → default (null: required). */
  params?: Record<string, string | null>;
  raw_id: string | null;
  status: string;
  url: string | null;
  when: number | null;
  /** Where the latest run ran: 'local' or 'ray@URL'; null if never run. */
  backend: string | null;
  /** Its name ('local', 'ray') for a tag; null if never run. */
  backend_name: string | null;
  /** How it is shown: 'local' or 'ray (URL)'; null if never run. */
  backend_label: string | null;
  /** The environment it ran in, when the server knows environments. */
  environment?: IEnvironment | null;
  /** How a cluster preset was mapped here, when the server says. */
  preset_note?: string | null;
}

/** The project image's environment a run ran in (neuro_jupyter.core.envs). */
export interface IEnvironment {
  /** The image's id in images:. */
  name: string;
  /** The environment's folder (its VIRTUAL_ENV); null on Ray. */
  path: string | null;
  /** ready | building | failed | missing | ray (installed by the cluster). */
  state: string;
}

/** One run of a live job. */
export interface IJob {
  raw_id: string;
  project_pk: number;
  job_id: string;
  suffix: string;
  status: string;
  reason: string;
  exit_code: number | null;
  backend: string;
  /** Its name ('local', 'ray') for a tag. */
  backend_name: string;
  /** How it is shown: 'local' or 'ray (URL)'. */
  backend_label: string;
  http_port: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  url: string | null;
  label?: string;
  preset?: string | null;
  environment?: IEnvironment | null;
  preset_note?: string | null;
}

/** A run that is pending or running, with its project (JupyterLab's Running panel). */
export interface IRunningJob extends IJob {
  project: { pk: number; name: string };
}

/** What to start: a multi job's suffix (random when empty), params and `multi.args`. */
export interface IStartOptions {
  suffix?: string;
  params?: Record<string, string>;
  args?: string[];
}

/** A page of a log: its text and the offset to ask for next. */
export interface ILogPage {
  text: string;
  offset: number;
  next_offset: number;
  size: number;
}

/** A bake and the state of its latest attempt. */
export interface IBake {
  bake_id: string;
  batch: string;
  name: string | null;
  tags: string[];
  created_at: number;
  status: string;
  attempt: number | null;
  /** Where its tasks run: 'local' or 'ray@URL'. */
  backend: string;
  /** Its name ('local', 'ray') for a tag. */
  backend_name: string;
  /** How it is shown: 'local' or 'ray (URL)'. */
  backend_label: string;
}

/** A task's log with the header lines `show` prints above it (for an action or module call,
 * which has no log of its own, the note naming its tasks). */
export interface ITaskLog {
  task: string;
  attempt: number | null;
  header: string;
  text: string;
}

/** An attempt of a bake. */
export interface IAttempt {
  number: number;
  result: string;
  reason: string;
  created_at: number;
  finished_at: number | null;
}

/** The executed notebook a task wrote (`neuro-jupyter nbrun`). */
export interface INotebookLink {
  path: string;
  lab_url: string | null;
  html_url: string;
}

/** A task of a bake attempt. */
export interface ITask {
  full_id: string;
  status: string;
  title: string;
  raw_id: string;
  exit_code: number | null;
  reason: string;
  started_at: number | null;
  finished_at: number | null;
  notebook?: INotebookLink | null;
}

/** A bake with one attempt's tasks and graph edges. */
export interface IBakeState {
  bake: IBake;
  attempt: IAttempt;
  attempts: IAttempt[];
  tasks: ITask[];
  edges: [string, string, string][];
}

/** An error answered by the server, with its JSON message. */
export class NeuroApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: Record<string, unknown> = {}
  ) {
    super(message);
    this.name = 'NeuroApiError';
  }
}

/** The REST client: one method per route. */
export class NeuroApi {
  constructor(connection: IConnection) {
    this.connection = connection;
  }

  readonly connection: IConnection;

  /** One project by key. */
  async project(pk: number): Promise<IProject> {
    return this.json<IProject>(['projects', String(pk)]);
  }

  /** The pending and running jobs of every project. */
  async running(): Promise<IRunningJob[]> {
    const reply = await this.json<{ jobs: IRunningJob[] }>(['running']);
    return reply.jobs;
  }

  /** Every recorded project, most recently opened first. */
  async projects(): Promise<IProject[]> {
    const reply = await this.json<{ projects: IProject[] }>(['projects']);
    return reply.projects;
  }

  /** The live jobs of a project. */
  async jobs(pk: number): Promise<IJobRow[]> {
    return (await this.jobList(pk)).jobs;
  }

  /**
   * The live jobs of a project and, when its live.yml does not load, the file's error as a
   * warning (the rows are then the runs recorded in the store).
   */
  async jobList(pk: number): Promise<{ jobs: IJobRow[]; warning: string }> {
    const reply = await this.json<{ jobs: IJobRow[]; warning?: string }>([
      'projects',
      String(pk),
      'jobs'
    ]);
    return { jobs: reply.jobs, warning: reply.warning ?? '' };
  }

  /** Start a live job (detached); answers the new run once it runs (a web job: once its
   * page answers) or has ended, or while still pending after a few seconds. */
  async startJob(pk: number, jobId: string, options: IStartOptions = {}): Promise<IJob> {
    return this.json<IJob>(['projects', String(pk), 'jobs', jobId, 'start'], {
      method: 'POST',
      body: JSON.stringify({
        suffix: options.suffix ?? '',
        params: options.params ?? {},
        args: options.args ?? []
      })
    });
  }

  /** Kill a live job's active run and wait for its end; answers what happened. */
  async killJob(pk: number, jobId: string, suffix = ''): Promise<string[]> {
    const reply = await this.json<{ messages: string[] }>(
      ['projects', String(pk), 'jobs', jobId, 'kill'],
      { method: 'POST', body: JSON.stringify({ suffix }) }
    );
    return reply.messages;
  }

  /** One job run by raw id. */
  async job(rawId: string): Promise<IJob> {
    return this.json<IJob>(['jobs', rawId]);
  }

  /** A page of a job's log; a negative offset counts from the end (a tail). */
  async jobLog(rawId: string, offset: number, limit: number): Promise<ILogPage> {
    return this.json<ILogPage>(['jobs', rawId, 'log'], undefined, {
      offset: String(offset),
      limit: String(limit)
    });
  }

  /** The bakes of a project, most recent first. */
  async bakes(pk: number): Promise<IBake[]> {
    const reply = await this.json<{ bakes: IBake[] }>([
      'projects',
      String(pk),
      'bakes'
    ]);
    return reply.bakes;
  }

  /** A bake's latest attempt (or the given one) with its tasks. */
  async bake(pk: number, bakeId: string, attempt?: number): Promise<IBakeState> {
    return this.json<IBakeState>(
      ['projects', String(pk), 'bakes', bakeId],
      undefined,
      attempt === undefined ? {} : { attempt: String(attempt) }
    );
  }

  /** The log of one task of a bake, with its header lines. */
  async taskLog(
    pk: number,
    bakeId: string,
    taskId: string,
    attempt?: number
  ): Promise<ITaskLog> {
    return this.json<ITaskLog>(
      ['projects', String(pk), 'bakes', bakeId, 'tasks', taskId, 'log'],
      undefined,
      attempt === undefined ? {} : { attempt: String(attempt) }
    );
  }

  /** A bake attempt's graph and its tasks' state, for the graph component (the browser lays
   * it out); the last attempt unless one is given. With `known` (a structure's key), the
   * answer's structure is `{key}` alone while it is that one (answers.withStructure). */
  async bakeGraph(pk: number, bakeId: string, attempt?: number, known = ''): Promise<IBakeGraph> {
    const query: Record<string, string> = attempt === undefined ? {} : { attempt: String(attempt) };
    if (known) {
      query.known = known;
    }
    return this.json<IBakeGraph>(['projects', String(pk), 'bakes', bakeId, 'graph.json'], undefined, query);
  }

  /** Cancel a bake's running attempt. */
  async cancelBake(pk: number, bakeId: string): Promise<IBakeState> {
    return this.json<IBakeState>(
      ['projects', String(pk), 'bakes', bakeId, 'cancel'],
      { method: 'POST', body: '{}' }
    );
  }

  /** Restart a bake as a new attempt, from its failed tasks. */
  async restartBake(pk: number, bakeId: string): Promise<IBakeState> {
    return this.json<IBakeState>(
      ['projects', String(pk), 'bakes', bakeId, 'restart'],
      { method: 'POST', body: JSON.stringify({ from_failed: true }) }
    );
  }

  private async json<T>(
    parts: string[],
    init?: RequestInit,
    query?: Record<string, string>
  ): Promise<T> {
    const response = await this.request(parts, init, query);
    return (await response.json()) as T;
  }

  private async request(
    parts: string[],
    init: RequestInit = {},
    query: Record<string, string> = {}
  ): Promise<Response> {
    const path = parts.map(encodeURIComponent).join('/');
    let url = joinUrl(this.connection.baseUrl, API_NAMESPACE, path);
    const search = new URLSearchParams(query).toString();
    if (search) {
      url += `?${search}`;
    }
    let response: Response;
    try {
      response = await this.connection.fetch(url, init);
    } catch (error) {
      throw new NeuroApiError(`Cannot reach the server: ${error}`, 0);
    }
    if (!response.ok) {
      let message = response.statusText;
      let body: Record<string, unknown> = {};
      try {
        body = await response.json();
        message = (body.message as string) || message;
      } catch {
        // not JSON: keep the status text
      }
      throw new NeuroApiError(message, response.status, body);
    }
    return response;
  }
}
