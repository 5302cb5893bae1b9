import { Command, InvalidArgumentError } from 'commander';
import type { Admin } from 'kafkajs';
import { configMarkdown, configTable, loadConfig, type Config } from '../config.js';
import { kafkaError } from '../adapters/kafka/errors.js';
import { AuraError } from '../errors.js';
import { createLogger } from '../logger.js';
import { createMetrics } from '../metrics.js';
import { AvroSerde, createRegistryClient, registryAuth, loadLocalSchemas, topicSubject } from '../adapters/avro-serde.js';
import { CONTEXT_VECTORIZED, aggregateSubjects } from '../adapters/codecs.js';
import { createKafka, kafkaConnection } from '../adapters/kafka/client.js';
import type { DirectFetch } from '../adapters/kafka/direct-fetch.js';
import { ERASURE_COMPLETED_FULL_NAME } from '../contracts/erasure.js';
import { formatStackInfo, stackDown, stackStatus, stackUp } from '../stack/index.js';
import { PROFILES, formatSummary, type Profile } from '../workload/index.js';
import { describeTopology } from '../../topology/describe.js';
import { prepareInputTopic, prepareTopics, startAggregate } from './run-aggregate.js';
import { produceWorkload } from '../workload/index.js';
import { supervise, trackState, type StageHandle } from './stage-runtime.js';
import { brokerProbe } from './dependency-monitor.js';

function intArg(name: string, min = 0) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}
function profileArg(raw: string): Profile {
  if (!(PROFILES as readonly string[]).includes(raw)) throw new InvalidArgumentError(`must be one of ${PROFILES.join(' | ')}`);
  return raw as Profile;
}
function fractionArg(raw: string): number {
  const n = Number(raw);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('must be a fraction between 0 and 1');
  return n;
}

/** Subjects and schemas of every topic, as registered by `schemas register`. */
export function subjectPlan(config: Config): Array<{ subject: string; fullName: string }> {
  return [
    ...aggregateSubjects({ input: config.inputTopic, output: config.aggregatedTopic }),
    { subject: topicSubject(config.vectorizedTopic), fullName: CONTEXT_VECTORIZED },
    { subject: topicSubject(config.erasedTopic), fullName: ERASURE_COMPLETED_FULL_NAME },
  ];
}

/** Runs the stages until they stop, then ends the process with their status (never returns). */
async function runStages(which: 'aggregate' | 'vectorize' | 'all'): Promise<never> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const metrics = createMetrics();
  // The client's own retries (metadata refresh, reconnects) pace by RETRY_*; what it gives up on
  // is retried by the stages with the same settings.
  const kafka = createKafka({
    ...kafkaConnection(config),
    clientId: `${config.applicationId}-${which}`,
    logger,
    retry: { initialRetryTime: config.retryInitialMs, maxRetryTime: config.retryMaxMs, retries: 5 },
  });
  const serde = new AvroSerde(createRegistryClient(config.schemaRegistryUrl, registryAuth(config)), undefined, { register: config.registerSchemas });
  await prepareTopics(kafka, config, which);
  const stages: StageHandle[] = [];
  if (which === 'aggregate' || which === 'all') stages.push(await startAggregate({ kafka, serde, config, logger, metrics }));
  if (which === 'vectorize' || which === 'all') {
    const { startVectorize } = await import('./run-vectorize.js');
    stages.push(await startVectorize({ kafka, serde, config, logger, metrics }));
  }
  for (const s of stages) trackState(s, metrics);
  const broker = brokerProbe(kafka);
  const code = await supervise({
    config,
    logger,
    metrics,
    stages,
    checks: { kafka: broker.probe, schemaRegistry: () => serde.client.getAllSubjects() },
    closeChecks: broker.close,
    exit: (c) => process.exit(c),
  });
  // Stopped (cleanly or failed): exit now rather than wait for whatever a client library keeps
  // open (a failed stage's consumer may never let go), so a failure always ends the process.
  process.exit(code);
}

export function buildCli(): Command {
  const program = new Command('aura-stream')
    .description('Wellbeing events → rolling per-user context snapshots → a fresh vector index (Kafka, exactly-once).')
    .showHelpAfterError();

  const stack = program.command('stack').description('Local Kafka + schema registry + model, fetched with Maven (no Docker).');
  stack
    .command('up')
    .description('Fetch (first time) and start Kafka and Apicurio Registry on loopback; returns when both answer.')
    .action(async () => {
      await stackUp(); // prints its table and the KEY=value lines itself
    });
  stack
    .command('down')
    .description('Stop the processes `stack up` started (and only those).')
    .action(async () => {
      const info = await stackDown();
      for (const l of formatStackInfo(info)) console.log(l);
    });
  stack
    .command('status')
    .description('What runs, where, and whether it answers; exit 1 unless all is up.')
    .action(async () => {
      const info = await stackStatus(); // prints its table and the KEY=value lines itself
      if (!info.ok) process.exitCode = 1;
    });

  program
    .command('topics')
    .description('Topics and schemas for production (run once, as a principal allowed to create topics and register schemas).')
    .command('apply')
    .description('Create the missing topics with min.insync.replicas (the changelog compacted, with max.compaction.lag.ms) and register every schema, so the stages can run with CREATE_TOPICS=false and REGISTER_SCHEMAS=false. Idempotent; reports settings that differ; exit 1 if any does.')
    .action(async () => {
      const config = loadConfig();
      const { applyTopics, formatApply } = await import('./topics-apply.js');
      const kafka = createKafka({ ...kafkaConnection(config), clientId: `${config.applicationId}-topics`, logger: createLogger(config.logLevel) });
      const serde = new AvroSerde(createRegistryClient(config.schemaRegistryUrl, registryAuth(config)));
      const lines = await applyTopics(kafka, serde, config, subjectPlan(config));
      for (const l of formatApply(lines)) console.log(l);
      if (lines.some((l) => l.what === 'differs')) process.exitCode = 1;
    });

  const schemas = program.command('schemas').description('Avro contracts in schemas/ against the registry.');
  schemas
    .command('register')
    .description('Register every local schema under its subject (idempotent; refused when incompatible).')
    .action(async () => {
      const config = loadConfig();
      const serde = new AvroSerde(createRegistryClient(config.schemaRegistryUrl, registryAuth(config)));
      for (const { subject, fullName } of subjectPlan(config)) {
        const id = await serde.register(subject, fullName);
        console.log(`${subject}  id ${id}`);
      }
    });
  schemas
    .command('check')
    .description('Are the local schemas compatible with every registered version (BACKWARD_TRANSITIVE)? Exit 1 if not.')
    .action(async () => {
      const config = loadConfig();
      const serde = new AvroSerde(createRegistryClient(config.schemaRegistryUrl, registryAuth(config)), loadLocalSchemas());
      let bad = 0;
      for (const { subject, fullName } of subjectPlan(config)) {
        const r = await serde.checkCompatible(subject, fullName);
        console.log(`${r.compatible ? 'ok  ' : 'FAIL'}  ${subject}  ${r.reason}`);
        if (!r.compatible) bad++;
      }
      if (bad > 0) process.exitCode = 1;
    });

  program
    .command('run')
    .description('Run a stage until SIGTERM/SIGINT: aggregate | vectorize | all (both in one process).')
    .argument('<stage>', 'aggregate | vectorize | all')
    .action(async (stage: string) => {
      if (!['aggregate', 'vectorize', 'all'].includes(stage)) throw new AuraError('CONFIG', `unknown stage "${stage}": expected aggregate | vectorize | all`);
      try {
        await runStages(stage as 'aggregate' | 'vectorize' | 'all');
      } catch (err) {
        // A start-up failure (topics, registry, model, ...): clients already connected must not
        // keep the process alive, so exit here with the same message and status as main().
        const e = kafkaError(err); // any error; Kafka ones from the CLI's own admin and producer calls too
        console.error(`aura-stream: ${e.code}: ${e.message}`);
        process.exit(e.code === 'CONFIG' ? 2 : 1);
      }
    });

  program
    .command('produce')
    .description('Send a seeded, realistic workload to the user-events topic and print what was sent by class.')
    .option('--users <n>', 'number of users', intArg('--users', 1), 100)
    .option('--events <n>', 'number of records (all classes)', intArg('--events'), 5000)
    .option('--rate <n>', 'records per second (0 = unthrottled)', intArg('--rate'), 0)
    .option('--seed <seed>', 'seed of the generator', '42')
    .option('--late <fraction>', 'share of late records', fractionArg, 0.02)
    .option('--duplicate <fraction>', 'share of duplicate records', fractionArg, 0.02)
    .option('--poison <fraction>', 'share of poison records', fractionArg, 0.01)
    .option('--start <iso>', 'event time of the first event (default: 10 days ago)')
    .option('--profile <name>', 'realistic | heavy (every user at the window cap, 200-character notes, events within 2 days)', profileArg, 'realistic')
    .action(async (opts: { users: number; events: number; rate: number; seed: string; late: number; duplicate: number; poison: number; start?: string; profile: Profile }) => {
      const config = loadConfig();
      const logger = createLogger(config.logLevel);
      const kafka = createKafka({ ...kafkaConnection(config), clientId: `${config.applicationId}-produce`, logger });
      // Only the topic it writes: the stages' other topics (changelog, outputs) are theirs to check.
      await prepareInputTopic(kafka, config);
      const serde = new AvroSerde(createRegistryClient(config.schemaRegistryUrl, registryAuth(config)));
      const startMs = opts.start ? Date.parse(opts.start) : Date.now() - 10 * 86_400_000;
      if (!Number.isFinite(startMs)) throw new AuraError('CONFIG', `--start ${opts.start} is not an ISO date`);
      const summary = await produceWorkload(kafka, serde, {
        topic: config.inputTopic,
        seed: opts.seed,
        users: opts.users,
        events: opts.events,
        rate: opts.rate,
        startMs,
        lateFraction: opts.late,
        duplicateFraction: opts.duplicate,
        poisonFraction: opts.poison,
        windowDays: config.windowDays,
        maxEvents: config.windowMaxEvents,
        profile: opts.profile,
      });
      console.log(`sent to ${config.inputTopic}:`);
      console.log(formatSummary(summary));
    });

  program
    .command('erase')
    .description('Erase a user end to end: one UserDeleted, signed with ERASURE_SIGNING_KEY, on the user-events topic; the stages drop the window and delete the points and cache entries (docs/erasure.md).')
    .requiredOption('--user <id>', 'the user id (the key of the user\'s events)')
    .option('--reason <text>', 'audit text such as a ticket id, never personal data (default: none)')
    .option('--requester <name>', 'who asks, recorded in the marker and the confirmation (default: the operating-system user)')
    .option('--wait', 'wait for the vectorize stage\'s ErasureCompleted on ERASED_TOPIC', false)
    .option('--timeout-ms <n>', 'how long --wait waits', intArg('--timeout-ms', 1), 120_000)
    .action(async (opts: { user: string; reason?: string; requester?: string; wait: boolean; timeoutMs: number }) => {
      const { erase, formatErasure } = await import('./erase.js');
      const done = await erase({
        user: opts.user,
        wait: opts.wait,
        timeoutMs: opts.timeoutMs,
        ...(opts.reason !== undefined && { reason: opts.reason }),
        ...(opts.requester !== undefined && { requester: opts.requester }),
        onProduced: (e) => console.log(formatErasure(e)[0]),
      });
      for (const line of formatErasure(done).slice(1)) console.log(line);
    });

  program
    .command('reindex')
    .description('Build the index version of the configured model and text version from the current one, then keep it caught up from the aggregated topic (docs/reindex.md). Resumable after kill -9.')
    .option('--until-caught-up', 'exit once the lag is at most --max-lag (default: keep the new version fresh until SIGTERM)', false)
    .option('--max-lag <n>', 'records of lag that count as caught up', intArg('--max-lag'), 100)
    .option('--chunk <n>', 'points per copy chunk (one upsert and one checkpoint each)', intArg('--chunk', 1), 64)
    .action(async (opts: { untilCaughtUp: boolean; maxLag: number; chunk: number }) => {
      const { runReindex } = await import('./reindex.js');
      const config = loadConfig();
      const logger = createLogger(config.logLevel);
      const kafka = createKafka({ ...kafkaConnection(config), clientId: `${config.applicationId}-reindex`, logger, retry: { initialRetryTime: config.retryInitialMs, maxRetryTime: config.retryMaxMs, retries: 5 } });
      const serde = new AvroSerde(createRegistryClient(config.schemaRegistryUrl, registryAuth(config)));
      try {
        process.exit(await runReindex({ kafka, serde, config, logger, metrics: createMetrics() }, { untilCaughtUp: opts.untilCaughtUp, maxLag: opts.maxLag, chunk: opts.chunk, progress: process.stderr.isTTY === true }));
      } catch (err) {
        const e = kafkaError(err);
        console.error(`aura-stream: ${e.code}: ${e.message}`);
        process.exit(e.code === 'CONFIG' ? 2 : 1);
      }
    });

  const index = program.command('index').description('Versions of the vector index behind the alias VECTOR_COLLECTION (docs/reindex.md).');
  /** `direct`: the aggregated topic's direct reader, opened on first use (lag past transaction markers). */
  const withAdmin = async <T>(fn: (config: Config, admin: Admin, direct: () => Promise<DirectFetch | undefined>) => Promise<T>): Promise<T> => {
    const config = loadConfig();
    const kafka = createKafka({ ...kafkaConnection(config), clientId: `${config.applicationId}-index`, logger: createLogger('warn') });
    const admin = kafka.admin();
    await admin.connect();
    const { lazyDirectFetch } = await import('./reindex.js');
    const direct = lazyDirectFetch(kafka, config.aggregatedTopic);
    try {
      return await fn(config, admin, direct.get);
    } finally {
      await direct.close();
      await admin.disconnect();
    }
  };
  index
    .command('status')
    .description('Versions, point counts, lag per version and the alias target.')
    .option('--json', 'one JSON object', false)
    .action(async (opts: { json: boolean }) => {
      const { indexStatus, formatStatus } = await import('./index-cmd.js');
      const status = await withAdmin(indexStatus);
      console.log(opts.json ? JSON.stringify(status) : formatStatus(status).join('\n'));
    });
  index
    .command('promote')
    .description('Point the alias at a version once it has caught up (atomic: a search reads the old or the new version, never none or both).')
    .argument('[collection]', 'the version collection (default: the only one besides the current)')
    .option('--max-lag <n>', 'refuse while the version is more records behind than this', intArg('--max-lag'), 100)
    .action(async (collection: string | undefined, opts: { maxLag: number }) => {
      const { promote } = await import('./index-cmd.js');
      const { describeVersion } = await import('../contracts/index-version.js');
      const r = await withAdmin((config, admin, direct) => promote(config, admin, { maxLag: opts.maxLag, ...(collection !== undefined && { collection }) }, direct));
      console.log(`alias now → ${r.to} (${describeVersion(r.version)}), lag ${r.lag}; was ${r.from}`);
      console.log(`next: run the vectorize stage with this version's model, stop \`aura-stream reindex\`, then \`aura-stream index drop ${r.from}\``);
    });
  index
    .command('drop')
    .description('Remove a version that is not the alias target: its collection, reindex checkpoint, consumer group and (when no other version uses its model) its embedding-cache entries.')
    .argument('<collection>', 'the version collection (see `index status`)')
    .action(async (collection: string) => {
      const { dropVersion } = await import('./index-cmd.js');
      const r = await withAdmin((config, admin) => dropVersion(config, admin, collection));
      console.log(`dropped ${collection} (${r.points} points, ${r.cacheEntries} embedding-cache entries)`);
    });

  program
    .command('search')
    .description(
      'Search the vector store in use (Qdrant when QDRANT_URL is set, else the embedded LanceDB; after `demo`, its latest run): by meaning (text), by payload fields (--where, --order-by; no model loaded), or both. Fields and operators: docs/search.md.',
    )
    .argument('[text]', 'what to look for, in plain language (e.g. "mood getting worse"); leave out for a structured query')
    .option('--user <id>', 'only this user')
    .option('--since <YYYY-MM-DD>', 'only points whose window ends on or after this UTC day')
    .option('--until <YYYY-MM-DD>', 'only points whose window ends on or before this UTC day')
    .option('--where <condition>', 'a condition on a payload field, repeatable: field<op>value (= != > >= < <=) or field:op:value (e.g. themes:contains:sleep)', (v: string, all: string[] = []) => [...all, v])
    .option('--order-by <field[:asc|desc]>', 'order by a numeric payload field (default desc); with text: re-orders the most similar --candidates')
    .option('--candidates <n>', 'text with --order-by: how many most similar points are re-ordered (default max(20, 4 x limit))', intArg('--candidates', 1))
    .option('--query <json>', 'the whole query object as JSON (as POST /v1/search takes it); the other options add to it')
    .option('--limit <k>', 'results', intArg('--limit', 1), 5)
    .option('--json', 'one JSON object per line: score, user_id, day, text, payload (with the statistics)', false)
    .option('--no-interpret', 'run the text as written: do not turn what it means (low mood, barely active, a theme, ...) into payload filters')
    .action(async (text: string | undefined, opts: { user?: string; since?: string; until?: string; where?: string[]; orderBy?: string; candidates?: number; query?: string; limit: number; json: boolean; interpret: boolean }) => {
      const { runSearch } = await import('./search.js');
      await runSearch(text, {
        limit: opts.limit,
        json: opts.json,
        ...(!opts.interpret && { interpret: false }),
        ...(opts.user !== undefined && { user: opts.user }),
        ...(opts.since !== undefined && { since: opts.since }),
        ...(opts.until !== undefined && { until: opts.until }),
        ...(opts.where !== undefined && { where: opts.where }),
        ...(opts.orderBy !== undefined && { orderBy: opts.orderBy }),
        ...(opts.candidates !== undefined && { candidates: opts.candidates }),
        ...(opts.query !== undefined && { queryJson: opts.query }),
      });
    });

  program
    .command('serve')
    .description(
      'HTTP JSON query service for readers (POST /v1/search, GET /v1/users/{id}/context/latest; bearer tokens of SEARCH_TOKENS): the model loaded once, the same queries as `search`. See docs/search.md.',
    )
    .option('--print-openapi', 'print the OpenAPI document (docs/openapi/serve.json) and exit', false)
    .action(async (opts: { printOpenapi: boolean }) => {
      if (opts.printOpenapi) {
        const { serveOpenApi } = await import('../query/index.js');
        console.log(JSON.stringify(serveOpenApi(), null, 2));
        return;
      }
      const { runServe } = await import('./serve.js');
      await runServe();
    });

  program
    .command('demo')
    .description('Start the local stack, run both stages on fresh topics, feed a seeded workload, wait until all is vectorized, print a summary and a search.')
    .option('--users <n>', 'number of users', intArg('--users', 1), 40)
    .option('--events <n>', 'number of records (all classes)', intArg('--events', 1), 2000)
    .option('--seed <seed>', 'seed of the generator', '7')
    .option('--timeout <s>', 'give up after this many seconds', intArg('--timeout', 1), 900)
    .option('--query <text>', 'sample search', 'feeling low and stressed about work')
    .action(async (opts: { users: number; events: number; seed: string; timeout: number; query: string }) => {
      const { runDemo } = await import('./demo.js');
      process.exitCode = await runDemo({ users: opts.users, events: opts.events, seed: opts.seed, timeoutMs: opts.timeout * 1000, query: opts.query });
    });

  program
    .command('describe')
    .description('Print the topology of both stages.')
    .action(() => console.log(describeTopology(loadConfig())));

  program
    .command('config')
    .description('Print every configuration variable with its default.')
    .option('--markdown', 'print the table of docs/configuration.md instead', false)
    .action((opts: { markdown: boolean }) => {
      if (opts.markdown) return void console.log(configMarkdown());
      for (const row of configTable()) console.log(`${row.env.padEnd(28)} ${(row.default || '-').padEnd(40)} ${row.doc}`);
    });

  return program;
}

/**
 * A reader that stops early (`aura-stream search … | head -3`) closes the pipe: the next write to
 * stdout fails with EPIPE, asynchronously, as an 'error' event that would crash the process with a
 * stack trace. What was asked for has been read, so the command ends quietly with status 0, as Unix
 * tools do. Any other stdout error still surfaces.
 */
export function exitQuietlyOnClosedStdout(stdout: NodeJS.WriteStream = process.stdout, exit: (code: number) => void = (code) => process.exit(code)): void {
  stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') exit(0);
    else throw err;
  });
}

export async function main(argv = process.argv): Promise<void> {
  exitQuietlyOnClosedStdout();
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    const e = kafkaError(err); // any error; Kafka ones from the CLI's own admin and producer calls too
    console.error(`aura-stream: ${e.code}: ${e.message}`);
    process.exitCode = e.code === 'CONFIG' ? 2 : 1;
  }
}
