// api.js — the dashboard's only way to the server: fetch wrappers over the public /api/v1
// (same origin, the session cookie authenticates), the API's error shape as an exception,
// and feature detection from the OpenAPI document (drill-down, spikes, annotations, report,
// why)
// so controls for endpoints a server lacks are hidden instead of failing.

/** An error answered by the API: `{"error": {"code", "message", "suggestions"}}`. */
export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || 'http_' + status;
    this.suggestions = error.suggestions || [];
  }
}

/** Calls an endpoint; resolves to the parsed JSON (or null for 204). */
export async function api(path, { method = 'GET', body } = {}) {
  const init = { method, credentials: 'same-origin', headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 204) return null;
  let parsed = null;
  try {
    parsed = await response.json();
  } catch (_) {
    parsed = null;
  }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

/** POST /api/v1/query with the query library's request. */
export function query(request) {
  return api('/api/v1/query', { method: 'POST', body: request });
}

let catalogueCache = null;

/** The catalogue (every metric's public description), fetched once. */
export async function catalogue() {
  if (!catalogueCache) {
    const metrics = await api('/api/v1/catalogue');
    catalogueCache = new Map(metrics.map((m) => [m.id, m]));
  }
  return catalogueCache;
}

/** What this server offers beyond the core API, read from its OpenAPI document. */
export async function features() {
  const doc = await api('/api/v1/openapi.json');
  const paths = doc.paths || {};
  const request = ((doc.components || {}).schemas || {}).QueryRequest || {};
  const has = (path, method) => Boolean(paths[path] && paths[path][method]);
  return {
    drill: Boolean(request.properties && request.properties.records),
    spikes: has('/api/v1/spikes', 'get'),
    annotations: has('/api/v1/annotations', 'get'),
    report: has('/api/v1/report', 'get'),
    why: has('/api/v1/why', 'post'),
    anomalies: has('/api/v1/anomalies', 'get'),
    alerts: has('/api/v1/alerts', 'get'),
  };
}
