import { loadConfig, type Config } from '../config.js';
import { AuraError } from '../errors.js';
import { createFileDescriptionCache, descriptionCacheDir } from '../adapters/file-description-cache.js';
import { startSearchServer } from '../adapters/search-server.js';
import { createLogger, type Logger } from '../logger.js';
import { createInterpreter, searchContext, serveOpenApi, type Interpreter } from '../query/index.js';
import { describeVersion } from '../contracts/index-version.js';
import type { Embedder } from '../ports.js';
import { createVectorStore, resolveAliasTarget, type AliasTarget, type VectorStore } from './index-versions.js';
import { QueryModels } from './query-models.js';
import { createEmbedder } from './run-vectorize.js';

/**
 * `aura-stream serve`: the readers' query service. The configured model is loaded once at start
 * (a `search` command pays ~0.75 s for it on every call); every query goes through searchContext,
 * the same library function as `search`, against the collection the alias (VECTOR_COLLECTION)
 * points to at that moment: resolved per request, so a promote is seen by the next request and one
 * request reads exactly one version, which its answer names. A text query is encoded by the model
 * of that version (QueryModels): after a promote to a version of another model, serve loads that
 * model from EMBEDDING_MODELS_DIR once (requests meanwhile wait for the same load; /readyz starts
 * it as soon as it sees the new target) and answers from the new version without a restart. At
 * most SERVE_MAX_MODELS models stay loaded; the least recently used is unloaded once no request uses it.
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
  // From here on the models own the configured embedder: it may be unloaded (SERVE_MAX_MODELS) and loaded again.
  const models = new QueryModels(config, logger, embedder, { reloadConfigured: () => createEmbedder(config, logger) });
  // One interpreter per loaded model: its concept descriptions are embedded once, and go with the model when it is unloaded.
  const interpreters = new WeakMap<Embedder, Interpreter>();
  // Shared with the CLI: a start or a promote reads the descriptions' vectors instead of embedding them (~0.6 s).
  const descriptionCache = createFileDescriptionCache({ dir: descriptionCacheDir(config.stateDir), warn: (m) => logger.warn(m) });
  const interpreterOf = (encoder: Embedder): Interpreter => {
    let interpreter = interpreters.get(encoder);
    if (!interpreter) interpreters.set(encoder, (interpreter = createInterpreter(encoder, { descriptionCache })));
    return interpreter;
  };
  try {
    const server = await startSearchServer({
      port: config.servePort,
      host: config.serveHost,
      tokens: config.searchTokens,
      openapi: serveOpenApi(),
      search: async (query) => {
        // One resolution per request: the collection read and the model encoding the text are both this target's.
        const target = await current();
        const search = (encoder?: Embedder) =>
          searchContext(
            {
              reader: sinkOf(target.collection),
              ...(encoder && { embedder: encoder, interpreter: interpreterOf(encoder) }),
              onInterpretError: (err) => logger.warn({ err }, 'interpreting a question failed; it ran as written'),
              index: target,
              mode: config.retrievalMode,
            },
            query,
          );
        // The model stays open while the request encodes with it, even if a promote unloads it meanwhile.
        return query.text === undefined ? search() : models.use(target, search);
      },
      readiness: async () => {
        try {
          const target = await current();
          const points = await sinkOf(target.collection).count();
          const loaded = models.loaded(target);
          // Warm the new target's model before the first text query needs it (a failure is retried by that query).
          if (loaded === undefined && target.version !== undefined) models.forTarget(target).catch(() => undefined);
          const model = loaded ?? embedder;
          return {
            ready: true,
            details: {
              store: store.kind,
              location: store.location,
              alias: target.alias,
              collection: target.collection,
              version: describeVersion(target.version),
              points,
              model_id: loaded ? model.modelId : (target.version?.model_id ?? model.modelId),
              model_version: loaded ? model.modelVersion : (target.version?.model_version ?? model.modelVersion),
              model_loaded: loaded !== undefined,
              text_queries: loaded !== undefined || models.available(target),
            },
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
        await models.close();
        await closeAll();
      },
    };
  } catch (err) {
    await models.close();
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
