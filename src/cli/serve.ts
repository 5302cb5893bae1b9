import { loadConfig, type Config } from '../config.js';
import { AuraError } from '../errors.js';
import { startSearchServer } from '../adapters/search-server.js';
import { createLogger, type Logger } from '../logger.js';
import { searchContext, serveOpenApi } from '../query/index.js';
import { describeVersion } from '../contracts/index-version.js';
import { createVectorStore, requireQueryModel, resolveAliasTarget, type AliasTarget, type VectorStore } from './index-versions.js';
import { createEmbedder } from './run-vectorize.js';

/**
 * `aura-stream serve`: the readers' query service. The model is loaded once at start (a `search`
 * command pays ~0.75 s for it on every call); every query goes through searchContext, the same
 * library function as `search`, against the collection the alias (VECTOR_COLLECTION) points to at
 * that moment: resolved per request, so a promote is seen by the next request and one request
 * reads exactly one version, which its answer names. A text query needs the model of that version:
 * after a promote to another model, text queries answer 503 (naming the model to load) until serve
 * is restarted with it, while structured queries keep answering.
 */
export async function startServe(options: { config?: Config; logger?: Logger } = {}): Promise<{ port: number; close(): Promise<void> }> {
  const config = options.config ?? loadConfig(process.env, { kafka: false });
  const logger = options.logger ?? createLogger(config.logLevel);
  // Before the model loads (seconds): a serve without tokens could answer nobody.
  if (config.searchTokens.length === 0) {
    throw new AuraError('CONFIG', 'serve needs at least one bearer token: set SEARCH_TOKENS (or SEARCH_TOKENS_FILE) to <token>:<user id> or <token>:* rows, tokens of at least 16 characters');
  }
  const store = createVectorStore(config);
  /** One open sink per physical collection (an open LanceDB table is reused across requests). */
  const opened = new Map<string, VectorStore>();
  const sinkOf = (collection: string): VectorStore => {
    let sink = opened.get(collection);
    if (!sink) {
      sink = store.open(collection);
      opened.set(collection, sink);
    }
    return sink;
  };
  const current = async (): Promise<AliasTarget> => {
    const target = await resolveAliasTarget(store);
    if (target === undefined) throw new AuraError('STORE_UNAVAILABLE', `no index "${config.collection}" in ${store.kind} at ${store.location} yet: the vectorize stage creates it on its first start`);
    return target;
  };
  const closeAll = async () => {
    for (const s of opened.values()) await s.close();
    await store.close();
  };
  const embedder = await createEmbedder(config, logger).catch(async (err: unknown) => {
    await closeAll();
    throw err;
  });
  try {
    const server = await startSearchServer({
      port: config.servePort,
      host: config.serveHost,
      tokens: config.searchTokens,
      openapi: serveOpenApi(),
      search: async (query) => {
        const target = await current();
        if (query.text !== undefined) {
          try {
            requireQueryModel(target, embedder);
          } catch (err) {
            throw new AuraError('MODEL_LOAD', (err as Error).message);
          }
        }
        return searchContext({ reader: sinkOf(target.collection), embedder, index: target, mode: config.retrievalMode }, query);
      },
      readiness: async () => {
        try {
          const target = await current();
          const points = await sinkOf(target.collection).count();
          const modelMatches = target.version === undefined || (target.version.model_id === embedder.modelId && target.version.model_version === embedder.modelVersion);
          return {
            ready: true,
            details: { store: store.kind, location: store.location, alias: target.alias, collection: target.collection, version: describeVersion(target.version), points, model_id: embedder.modelId, model_version: embedder.modelVersion, text_queries: modelMatches },
          };
        } catch (err) {
          return { ready: false, details: { store: store.kind, alias: config.collection, error: err instanceof Error ? err.message : String(err) } };
        }
      },
      onError: (status, code, route) => {
        if (status >= 500) logger.warn({ status, code, route }, 'query failed');
      },
    });
    logger.info({ port: server.port, store: store.kind, alias: config.collection, model_id: embedder.modelId, tokens: config.searchTokens.length }, 'serve listening');
    return {
      port: server.port,
      close: async () => {
        await server.close();
        await embedder.close();
        await closeAll();
      },
    };
  } catch (err) {
    await embedder.close();
    await closeAll();
    throw err;
  }
}

/** Runs serve until SIGTERM/SIGINT, then closes the listener, the model and the store, and exits 0. */
export async function runServe(): Promise<void> {
  const served = await startServe();
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  await served.close();
}
