/**
 * The REST client inside JupyterLab: requests go through `ServerConnection.makeRequest`, so
 * the token and the XSRF cookie are sent and the server's base URL is honoured.
 */
import { ServerConnection } from '@jupyterlab/services';

import { NeuroApi } from './api';

/** A client over the given (or the page's) server settings. */
export function labApi(settings?: ServerConnection.ISettings): NeuroApi {
  const serverSettings = settings ?? ServerConnection.makeSettings();
  return new NeuroApi({
    baseUrl: serverSettings.baseUrl,
    fetch: (url, init) => ServerConnection.makeRequest(url, init, serverSettings)
  });
}
