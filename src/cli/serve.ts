import { loadConfig, type Config } from '../config.js';
import { AuraError } from '../errors.js';
import { startSearchServer } from '../adapters/search-server.js';
import { createLogger, type Logger } from '../logger.js';
import { searchContext, serveOpenApi } from '../query/index.js';
import { createEmbedder, createVectorSink } from './run-vectorize.js';

/**
 * `aura-stream serve`: the readers' query service. The model is loaded once at start (a `search`
 * command pays ~0.75 s for it on every call); every query goes through searchContext, the same
 * library function as `search`, against the index of VECTOR_COLLECTION, and each answer names
 * the collection and the model that answered.
 */
export async function startServe(options: { config?: Config; logger?: Logger } = {}): Promise<{ port: number; close(): Promise<void> }> {
  const config = options.config ?? loadConfig();
  const logger = options.logger ?? createLogger(config.logLevel);
  // Before the model loads (seconds): a serve without tokens could answer nobody.
  if (config.searchTokens.length === 0) {
    throw new AuraError('CONFIG', 'serve needs at least one bearer token: set SEARCH_TOKENS (or SEARCH_TOKENS_FILE) to <token>:<user id> or <token>:* rows, tokens of at least 16 characters');
  }
  const sink = createVectorSink(config);
  const embedder = await createEmbedder(config, logger);
  try {
    const server = await startSearchServer({
      port: config.servePort,
      host: config.serveHost,
      tokens: config.searchTokens,
      openapi: serveOpenApi(),
      search: (query) => searchContext({ reader: sink, embedder }, query),
      readiness: async () => {
        try {
          await sink.count();
          return { ready: true, details: { store: sink.kind, location: sink.location, collection: sink.collection, model_id: embedder.modelId, model_version: embedder.modelVersion } };
        } catch (err) {
          return { ready: false, details: { store: sink.kind, collection: sink.collection, error: err instanceof Error ? err.message : String(err) } };
        }
      },
      onError: (status, code, route) => {
        if (status >= 500) logger.warn({ status, code, route }, 'query failed');
      },
    });
    logger.info({ port: server.port, store: sink.kind, collection: sink.collection, model_id: embedder.modelId, tokens: config.searchTokens.length }, 'serve listening');
    return {
      port: server.port,
      close: async () => {
        await server.close();
        await embedder.close();
        await sink.close();
      },
    };
  } catch (err) {
    await embedder.close();
    await sink.close();
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
