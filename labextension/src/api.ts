/**
 * REST client for the neuro-jupyter server extension (`<base_url>neuro-jupyter/api/`).
 *
 * The routes are documented in `neuro_jupyter/server/handlers.py`; every request goes through
 * `ServerConnection.makeRequest` so the token and the XSRF cookie are sent.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** The URL namespace of the server extension. */
export const API_NAMESPACE = 'neuro-jupyter/api';

/** A recorded project. */
export interface IProject {
  pk: number;
  project_id: string;
  name: string;
  root: string;
  created_at: number;
  opened_at: number;
}

/** A live job of a project: a live.yml job with the state of its latest run. */
export interface IJobRow {
  job_id: string;
  suffix: string;
  title: string;
  multi: boolean;
  browse: boolean;
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
  /** Its image's environment, or null (absent from older servers). */
  environment?: IEnvironment | null;
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
}

/** A bake with one attempt's tasks and graph edges. */
export interface IBakeState {
  bake: IBake;
  attempt: IAttempt;
  attempts: IAttempt[];
  tasks: ITask[];
  edges: [string, string, string][];
}

/** A bake graph laid out on the server without Graphviz (node i at x[i], y[i]). */
export interface IGraphLayout {
  ids: string[];
  labels: string[];
  counts: number[];
  x: number[];
  y: number[];
  edges: number[]; // flat pairs of node indexes
  statuses: string[];
  width: number;
  height: number;
  node_w: number;
  node_h: number;
  gap_x: number;
  gap_y: number;
  margin: number;
}

/** An error answered by the server, with its JSON message. */
export class NeuroApiError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
    this.name = 'NeuroApiError';
  }
}

/** The REST client: one method per route. */
export class NeuroApi {
  constructor(serverSettings?: ServerConnection.ISettings) {
    this.serverSettings = serverSettings ?? ServerConnection.makeSettings();
  }

  readonly serverSettings: ServerConnection.ISettings;

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

  /** Start a live job (detached); answers the new run. */
  async startJob(pk: number, jobId: string, suffix = ''): Promise<IJob> {
    return this.json<IJob>(['projects', String(pk), 'jobs', jobId, 'start'], {
      method: 'POST',
      body: JSON.stringify({ suffix })
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

  /** A bake's graph as an SVG document rendered by Graphviz on the server. */
  async graphSvg(pk: number, bakeId: string, attempt?: number): Promise<string> {
    const response = await this.request(
      ['projects', String(pk), 'bakes', bakeId, 'graph.svg'],
      undefined,
      attempt === undefined ? {} : { attempt: String(attempt) }
    );
    return response.text();
  }

  /** The bake's graph laid out without Graphviz (for drawing in the browser). */
  async graphLayout(
    pk: number,
    bakeId: string,
    attempt?: number
  ): Promise<IGraphLayout> {
    return this.json<IGraphLayout>(
      ['projects', String(pk), 'bakes', bakeId, 'graph.json'],
      undefined,
      attempt === undefined ? {} : { attempt: String(attempt) }
    );
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
    let url = URLExt.join(this.serverSettings.baseUrl, API_NAMESPACE, path);
    const search = new URLSearchParams(query).toString();
    if (search) {
      url += `?${search}`;
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        url,
        init,
        this.serverSettings
      );
    } catch (error) {
      throw new NeuroApiError(`Cannot reach the server: ${error}`, 0);
    }
    if (!response.ok) {
      let message = response.statusText;
      try {
        const body = await response.json();
        message = body.message || message;
      } catch {
        // not JSON: keep the status text
      }
      throw new NeuroApiError(message, response.status);
    }
    return response;
  }
}
