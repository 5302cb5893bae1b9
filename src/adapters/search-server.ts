import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { AuraError } from '../errors.js';
import { compileQuery, type CompiledQuery, type ContextAnswer } from '../query/index.js';
import type { Readiness } from './http-server.js';

/**
 * The HTTP JSON query service of `aura-stream serve` (docs/search.md, docs/openapi/serve.json):
 *
 * - `POST /v1/search` (body: ContextQuery) and `GET /v1/users/{id}/context/latest` need
 *   `Authorization: Bearer <token>`: none or an unknown one → 401 (with WWW-Authenticate); a token
 *   bound to a user reads only that user: user_id defaults to it, another one → 403.
 * - `/healthz`, `/readyz`, `/metrics`, `/openapi.json` are open (probes and scrapers).
 * - Errors are `{error: {code, message}}`: 400 INVALID_QUERY (bad JSON or query, the message
 *   names the allowed fields/operators), 404, 405, 413 (body over 64 KiB), 503 when the index or
 *   model is unavailable (retriable codes), 500 otherwise.
 * - Metrics: `aura_search_requests_total{route,status}` and
 *   `aura_search_request_duration_seconds{route}` (routes: search, latest, other).
 */

export const MAX_BODY_BYTES = 64 * 1024;

export interface SearchServerOptions {
  port: number;
  host: string;
  /** Bearer tokens and whom each may read (`*` = every user). At least one. */
  tokens: ReadonlyArray<{ token: string; user: string }>;
  search(query: CompiledQuery): Promise<ContextAnswer>;
  readiness(): Promise<Readiness>;
  openapi: Record<string, unknown>;
  /** Called with every failed request's status and code (for logs); never with values. */
  onError?(status: number, code: string, route: string): void;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** Token → scope, compared in constant time over digests (the digest of a guess leaks nothing useful). */
function tokenBook(tokens: SearchServerOptions['tokens']): (presented: string) => string | undefined {
  const book = tokens.map((t) => ({ digest: sha256(t.token), user: t.user }));
  return (presented) => {
    const d = sha256(presented);
    let found: string | undefined;
    for (const t of book) if (timingSafeEqual(t.digest, d)) found = t.user;
    return found;
  };
}

function statusOf(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof AuraError) {
    if (err.code === 'INVALID_QUERY') return new HttpError(400, err.code, err.message);
    if (err.retriable || err.code === 'MODEL_LOAD') return new HttpError(503, err.code, `${err.message} (retry later)`);
    return new HttpError(500, err.code, err.message);
  }
  return new HttpError(500, 'INTERNAL', 'internal error');
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'BODY_TOO_LARGE', `the request body is larger than ${MAX_BODY_BYTES} bytes: send one query object`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, 'INVALID_QUERY', `the request body is not JSON (${(err as Error).message}): send a query object, e.g. {"user_id":"user-0001","order_by":{"field":"mood_mean","direction":"asc"},"limit":3}`);
  }
}

export async function startSearchServer(options: SearchServerOptions): Promise<{ port: number; registry: Registry; close(): Promise<void> }> {
  if (options.tokens.length === 0) throw new AuraError('CONFIG', 'serve needs at least one bearer token: set SEARCH_TOKENS (or SEARCH_TOKENS_FILE) to <token>:<user id> or <token>:* rows');
  const scopeOf = tokenBook(options.tokens);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({ name: 'aura_search_requests_total', help: 'Requests to the query service by route and HTTP status.', labelNames: ['route', 'status'], registers: [registry] });
  const duration = new Histogram({
    name: 'aura_search_request_duration_seconds',
    help: 'Time from request to response of the query service, by route.',
    labelNames: ['route'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  for (const route of ['search', 'latest']) duration.zero({ route });

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  };

  /** The user the token may read (`*` = all); 401 without a known bearer token. */
  const authorize = (req: IncomingMessage): string => {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new HttpError(401, 'UNAUTHENTICATED', 'send Authorization: Bearer <token> with a token of SEARCH_TOKENS');
    const scope = scopeOf(m[1]!);
    if (scope === undefined) throw new HttpError(401, 'UNAUTHENTICATED', 'the bearer token is not known: use a token of SEARCH_TOKENS');
    return scope;
  };
  const forUser = (scope: string, userId: string | undefined): string | undefined => {
    if (scope === '*') return userId;
    if (userId !== undefined && userId !== scope) throw new HttpError(403, 'FORBIDDEN', 'this token reads only the user it is bound to');
    return scope;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, path: string, route: string): Promise<void> => {
    if (route === 'search') {
      if (req.method !== 'POST') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'use POST /v1/search');
      const scope = authorize(req);
      const body = await readBody(req);
      const query = compileQuery(body);
      const user = forUser(scope, query.filter.userId);
      const scoped: CompiledQuery = { ...query, filter: { ...query.filter, ...(user !== undefined && { userId: user }) } };
      send(res, 200, await options.search(scoped));
      return;
    }
    if (route === 'latest') {
      if (req.method !== 'GET') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'use GET /v1/users/{id}/context/latest');
      const scope = authorize(req);
      let userId: string;
      try {
        userId = decodeURIComponent(LATEST.exec(path)![1]!);
      } catch {
        throw new HttpError(400, 'INVALID_QUERY', 'the user id in the path is not valid percent-encoding');
      }
      forUser(scope, userId);
      const answer = await options.search(compileQuery({ user_id: userId, limit: 1 }));
      const hit = answer.hits[0];
      if (!hit) throw new HttpError(404, 'NOT_FOUND', 'the user has no context in the index (never seen, or erased)');
      send(res, 200, { answered_by: answer.answered_by, hit });
      return;
    }
    if (req.method !== 'GET') throw new HttpError(405, 'METHOD_NOT_ALLOWED', `use GET ${path}`);
    if (path === '/healthz') {
      send(res, 200, { status: 'alive' });
    } else if (path === '/readyz') {
      const r = await options.readiness();
      send(res, r.ready ? 200 : 503, { ready: r.ready, ...r.details });
    } else if (path === '/metrics') {
      res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
    } else if (path === '/openapi.json') {
      send(res, 200, options.openapi);
    } else {
      throw new HttpError(404, 'NOT_FOUND', `no route ${path}: see /openapi.json`);
    }
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = path === '/v1/search' ? 'search' : LATEST.test(path) ? 'latest' : 'other';
    const stop = duration.startTimer({ route });
    void handle(req, res, path, route)
      .catch((err: unknown) => {
        const e = statusOf(err);
        options.onError?.(e.status, e.code, route);
        if (!res.headersSent) send(res, e.status, { error: { code: e.code, message: e.message } }, e.status === 401 ? { 'www-authenticate': 'Bearer realm="aura-stream"' } : {});
        else res.destroy();
        // Drain an unread body so the connection can be reused after an early error.
        req.resume();
      })
      .finally(() => {
        stop();
        requests.inc({ route, status: String(res.statusCode) });
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    registry,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

const LATEST = /^\/v1\/users\/([^/]+)\/context\/latest$/;
