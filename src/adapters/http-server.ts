import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface Readiness {
  ready: boolean;
  /** Shown as JSON by /readyz: stage states, store in use and where, dependency checks. */
  details: Record<string, unknown>;
}

/**
 * GET /metrics (Prometheus text format), /healthz (200 while the process serves), /readyz (200 or 503
 * as `readiness` decides; the body says why).
 */
export async function startHttpServer(options: { port: number; host?: string; registry: Registry; readiness: () => Promise<Readiness> }): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    void (async () => {
      try {
        if (req.method !== 'GET') {
          res.writeHead(405).end();
        } else if (path === '/metrics') {
          const body = await options.registry.metrics();
          res.writeHead(200, { 'content-type': options.registry.contentType }).end(body);
        } else if (path === '/healthz') {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"alive"}');
        } else if (path === '/readyz') {
          const r = await options.readiness();
          res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ready: r.ready, ...r.details }));
        } else {
          res.writeHead(404).end();
        }
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return { server, port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
