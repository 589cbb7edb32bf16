/**
 * Reading a bake from the server extension's REST API with the page's own credentials, for
 * views that live outside the labextension (the notebook widget): they then follow the store
 * through the Jupyter server, whatever happens to the kernel that drew them.
 */
import { knownKey, withStructure } from './answers';
import { IBakeGraph, ITaskLogText } from './types';

/** The Jupyter server that served this page: its base URL and token. */
export interface IPageServer {
  baseUrl: string;
  token: string;
}

/** The server of a Jupyter page (JupyterLab, Notebook 7), from its `jupyter-config-data`;
 * null elsewhere (VS Code, Colab, a page saved as HTML). */
export function pageServer(doc: Document = document): IPageServer | null {
  const script = doc.getElementById('jupyter-config-data');
  if (!script?.textContent) {
    return null;
  }
  try {
    const config = JSON.parse(script.textContent) as { baseUrl?: string; token?: string };
    if (!config.baseUrl) {
      return null;
    }
    const base = config.baseUrl.endsWith('/') ? config.baseUrl : `${config.baseUrl}/`;
    return { baseUrl: base, token: config.token ?? '' };
  } catch {
    return null;
  }
}

/** An error answered by the server (status 0: it could not be reached). */
export class RestError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
    this.name = 'RestError';
  }
}

function cookie(name: string): string {
  const match = document.cookie.match(new RegExp(`(?:^|;\\s*)${name}=([^;]*)`));
  return match ? decodeURIComponent(match[1]) : '';
}

/** A bake's REST routes (`<base_url>neuro-jupyter/api/projects/{pk}/bakes/{bake}/...`). */
export class RestBakeClient {
  constructor(
    readonly server: IPageServer,
    readonly pk: number,
    readonly bakeId: string
  ) {}

  /** The attempt's graph and state (`graph.json`); `attempt` 0 is the last attempt. The
   * structure is asked for only when it changed since the last answer (its key is a digest
   * of its content: the same key is the same structure, whatever the attempt). */
  async graph(attempt: number): Promise<IBakeGraph> {
    const known = knownKey(this._last);
    const answer = await this._get<IBakeGraph>('graph.json', attempt, known ? { known } : {});
    this._last = withStructure(answer, this._last);
    return this._last;
  }

  /** A task's log with `show`'s header lines. */
  async taskLog(taskId: string, attempt: number): Promise<ITaskLogText> {
    const reply = await this._get<{ header: string; text: string }>(
      `tasks/${encodeURIComponent(taskId)}/log`,
      attempt
    );
    return { header: reply.header, text: reply.text };
  }

  private async _get<T>(path: string, attempt: number, query: Record<string, string> = {}): Promise<T> {
    const base = `${this.server.baseUrl}neuro-jupyter/api/projects/${this.pk}/bakes/${encodeURIComponent(this.bakeId)}`;
    const search = new URLSearchParams(attempt ? { attempt: String(attempt), ...query } : query).toString();
    const url = `${base}/${path}${search ? `?${search}` : ''}`;
    const headers: Record<string, string> = {};
    if (this.server.token) {
      headers['Authorization'] = `token ${this.server.token}`;
    }
    const xsrf = cookie('_xsrf');
    if (xsrf) {
      headers['X-XSRFToken'] = xsrf;
    }
    let response: Response;
    try {
      response = await fetch(url, { headers, credentials: 'same-origin', cache: 'no-store' });
    } catch (error) {
      throw new RestError(`the Jupyter server cannot be reached (${error})`, 0);
    }
    if (!response.ok) {
      let message = response.statusText;
      try {
        message = ((await response.json()) as { message?: string }).message || message;
      } catch {
        // not JSON (no server extension: Jupyter's own 404 page)
      }
      throw new RestError(message, response.status);
    }
    return (await response.json()) as T;
  }

  private _last: IBakeGraph | null = null;
}
