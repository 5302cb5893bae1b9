// An HTTP proxy in front of the shared schema registry that demands credentials, as a secured
// registry does: requests without the expected `Authorization` header get 401 and never reach the
// registry; the others are forwarded as they are. Records every Authorization header it saw.
// (Apicurio's own auth needs an OIDC identity server, which the local stack does not run.) Not a test file.
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AuthProxy {
  /** Base URL of the proxy: the registry's URL with host and port replaced. */
  url: string;
  /** Authorization headers received, in order ('' when absent). */
  seen: string[];
  /** Requests refused with 401. */
  refused: number;
  setExpected(authorization: string): void;
  close(): Promise<void>;
}

/** `target` is the registry's base URL (path kept); `authorization` the exact header value to demand. */
export async function startAuthProxy(target: string, authorization: string): Promise<AuthProxy> {
  const upstream = new URL(target);
  let expected = authorization;
  const state = { seen: [] as string[], refused: 0 };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const auth = req.headers.authorization ?? '';
    state.seen.push(auth);
    if (auth !== expected) {
      state.refused += 1;
      req.resume();
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="registry"' }).end('{"error_code":401,"message":"Unauthorized"}');
      return;
    }
    const headers = { ...req.headers, host: upstream.host };
    delete headers.authorization;
    const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', (err) => res.writeHead(502).end(String(err)));
    req.pipe(forward);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const url = new URL(target);
  url.host = `127.0.0.1:${port}`;
  return {
    url: url.href.replace(/\/+$/, ''),
    get seen() {
      return state.seen;
    },
    get refused() {
      return state.refused;
    },
    setExpected: (value) => void (expected = value),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
