import { Agent } from 'undici';

/**
 * Trust a private CA for HTTPS requests to one origin made through the global `fetch`.
 *
 * Why this shape: @qdrant/js-client-rest 1.19 builds its own undici Agent without TLS options and
 * offers no way to pass a CA, and Node 20 cannot extend its trust store after start-up
 * (NODE_EXTRA_CA_CERTS is read once, at start). The client calls the global `fetch` for every
 * request, so requests to a registered origin are sent through an Agent that trusts the given CA
 * (and only it) for the life of the process; requests to any other origin are left exactly as they
 * were.
 */
const agents = new Map<string, Agent>();
let baseFetch: typeof fetch | undefined;

function urlOf(input: Parameters<typeof fetch>[0]): string {
  return typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
}

/** Requests to `origin` (scheme://host[:port]) verify the server against `caPem` from now on. */
export function trustCaForOrigin(origin: string, caPem: string): void {
  const key = new URL(origin).origin;
  agents.set(key, new Agent({ connect: { ca: caPem } }));
  if (baseFetch) return;
  const base = globalThis.fetch;
  baseFetch = base;
  globalThis.fetch = ((input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const agent = agents.get(new URL(urlOf(input)).origin);
    return base(input, agent ? ({ ...init, dispatcher: agent } as unknown as RequestInit) : init);
  }) as typeof fetch;
}
