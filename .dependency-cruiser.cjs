/**
 * Import boundaries of aura-stream (docs/ARCHITECTURE.md §1), checked by `npm run lint` as
 * `depcruise --config .dependency-cruiser.cjs src topology test bench`.
 *
 * Paths in the rules are resolved files relative to the repo root: `src/ports.ts`, never the
 * `./ports.js` specifier (NodeNext `.js` specifiers resolve to the `.ts` source through
 * tsconfig.json), and npm packages as `node_modules/<name>/…`. Type-only imports count as
 * imports (`tsPreCompilationDeps`): a topology that needs a kafkajs *type* is already coupled to
 * kafkajs.
 */

/** Anything that is not a local file of the repo or a node built-in: an npm package. */
const NPM = ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-bundled', 'npm-no-pkg', 'npm-unknown'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'topology-only-wiring',
      comment:
        'topology/ is the wiring and nothing else: it takes ports and compiled config and returns ' +
        'Observables. So it may import rxjs, src/pipeline, src/ports.ts, src/contracts, src/errors.ts, ' +
        'src/config.ts (types, see topology-config-types-only), src/lifecycle.ts and other topology/ ' +
        'files - no client library (kafkajs, lmdb, @qdrant/*, @lancedb/*, @huggingface/*, ' +
        '@confluentinc/*, avsc, prom-client, pino, ...), no node built-in, and never src/adapters, ' +
        'src/cli or src/stack. Reach I/O through a port the composition root (src/cli) hands in.',
      severity: 'error',
      from: { path: '^topology/' },
      to: {
        pathNot: [
          '^topology/',
          '^src/pipeline/',
          '^src/contracts/',
          '^src/ports\\.ts$',
          '^src/errors\\.ts$',
          '^src/config\\.ts$',
          '^src/lifecycle\\.ts$',
          '^node_modules/rxjs/',
        ],
      },
    },
    {
      name: 'topology-config-types-only',
      comment:
        'topology/ takes compiled config as a parameter; it must not read the environment or ' +
        'compile config itself, so it may import only types from src/config.ts (`import type`).',
      severity: 'error',
      from: { path: '^topology/' },
      to: { path: '^src/config\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'pipeline-is-pure',
      comment:
        'src/pipeline/ holds pure reducers and operators: LMDB, Kafka, Qdrant and the model are only ' +
        'reached through the port an operator is handed. So a pipeline module imports rxjs, uuid, node ' +
        'built-ins, src/contracts, src/ports.ts, src/errors.ts and other pipeline modules - no client ' +
        'library, no adapter, no config, logger or metrics module (those carry pino / prom-client).',
      severity: 'error',
      from: { path: '^src/pipeline/' },
      to: {
        dependencyTypesNot: ['core'],
        pathNot: [
          '^src/pipeline/',
          '^src/contracts/',
          '^src/ports\\.ts$',
          '^src/errors\\.ts$',
          '^node_modules/(rxjs|uuid)/',
        ],
      },
    },
    {
      name: 'domain-below-operators-and-state',
      comment:
        'src/pipeline/domain/ is the product\'s rules (windows, statistics, facts, text, validation, ' +
        'record shapes) as plain functions and types; operators/ and state/ are built on it. A domain ' +
        'module that needs an operator or a stateful helper would tie a rule to how it is run, so the ' +
        'only edges allowed upwards are type-only ones (a fold that is handed a WindowCache).',
      severity: 'error',
      from: { path: '^src/pipeline/domain/' },
      to: { path: '^src/pipeline/(operators|state)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'oracles-only-from-tests-and-bench',
      comment:
        'test/oracles/ holds reference implementations (aggregateBatch, rollWindow, toSnapshot): the ' +
        'definition the running code is checked against, never run in production. The benchmarks may ' +
        'import them to make input (bench/retrieval.ts, bench/vectorize.ts fold a seeded workload with ' +
        'aggregateBatch) - no-test-code-in-product keeps them out of src/ and topology/.',
      severity: 'error',
      from: { pathNot: '^(test|bench)/' },
      to: { path: '^test/oracles/' },
    },
    {
      name: 'adapters-not-to-topology-or-cli',
      comment:
        'src/adapters/ implement src/ports.ts and know nothing about how they are wired: only ' +
        'src/cli (the composition root) imports both adapters and topology.',
      severity: 'error',
      from: { path: '^src/adapters/' },
      to: { path: '^(topology|src/cli)/' },
    },
    {
      name: 'topology-only-from-cli',
      comment:
        'Only the composition root (src/cli) wires topology to adapters; with adapters-not-to-topology-or-cli ' +
        'and topology-only-wiring this keeps src/cli the only module that sees both.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^topology/' },
    },
    {
      name: 'cli-is-the-root',
      comment:
        'src/cli is the composition root: it imports everything and nothing in the product imports ' +
        'it (a module that needs something from the CLI needs it moved to a port, pipeline module or config ' +
        'instead). Tests and benchmarks exercise the composition root and may import it.',
      severity: 'error',
      from: { pathNot: '^(src/cli|test|bench)/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'stack-only-from-cli',
      comment:
        'src/stack/ fetches and runs the local Kafka / registry / model for development and tests; ' +
        'the processing code (adapters, pipeline, topology) must run against any cluster and so must ' +
        'not depend on it.',
      severity: 'error',
      from: { path: '^(src/adapters|src/pipeline|topology)/' },
      to: { path: '^src/stack/' },
    },
    {
      name: 'workload-only-from-cli-tests-bench',
      comment:
        'src/workload/ makes up input (the seeded generator, personas, poison bytes, the producer ' +
        'behind `aura-stream produce`) for the CLI, the tests and the benchmarks. The processing code ' +
        'must never depend on how its input was made, or a test would agree with the stage by ' +
        'construction; so within src/ and topology/ only src/cli and src/workload itself import it ' +
        '(test/ and bench/ may).',
      severity: 'error',
      from: { path: '^(src|topology)/', pathNot: '^src/(cli|workload)/' },
      to: { path: '^src/workload/' },
    },
    {
      name: 'no-circular',
      comment:
        'A cycle means two modules cannot be understood, tested or replaced apart; break it with a ' +
        'port (dependency inversion) or by moving the shared piece down into contracts/pipeline.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-orphans',
      comment:
        'A module that imports nothing and that nothing imports is dead code or was never wired ' +
        'into its public index.ts; either export it from there or delete it.',
      severity: 'error',
      from: { orphan: true, path: '^(src|topology)/' },
      to: {},
    },
    {
      name: 'not-to-dev-dep',
      comment:
        'src/ and topology/ ship (`npm ci --omit=dev` must still run them), so they must not import ' +
        'a devDependency. Type-only imports and @types/* vanish at compile time and are fine. ' +
        '(bin/ may load tsx; it is not cruised.)',
      severity: 'error',
      from: { path: '^(src|topology)/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'], pathNot: ['node_modules/@types/'] },
    },
    {
      name: 'no-test-code-in-product',
      comment:
        'src/ and topology/ ship; test/ and bench/ do not (and `npm ci --omit=dev` lacks their ' +
        'dependencies). Product code that needs a test helper needs it moved into src/ instead.',
      severity: 'error',
      from: { path: '^(src|topology)/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'tests-not-on-benchmarks',
      comment:
        'Benchmarks are scripts that measure; tests must not depend on them (a change to a ' +
        'benchmark must never change what a test proves). Shared set-up belongs in test/support/.',
      severity: 'error',
      from: { path: '^test/' },
      to: { path: '^bench/' },
    },
    {
      name: 'no-importing-test-files',
      comment:
        'A *.test.ts file registers tests when it is loaded: importing one runs its tests inside ' +
        'another file. Move what is shared into test/support/ (fakes in test/support/fakes/).',
      severity: 'error',
      from: {},
      to: { path: '\\.test\\.ts$' },
    },
    {
      name: 'not-to-unresolvable',
      comment:
        'The boundary rules above match resolved paths; an import that does not resolve would slip ' +
        'past them, so it is an error here too (tsc reports it as well).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Only our own code is checked; packages are leaves (their own imports are not our boundary).
    doNotFollow: { path: 'node_modules', dependencyTypes: NPM },
    // NodeNext resolution from tsconfig.json: `./ports.js` → `src/ports.ts`.
    tsConfig: { fileName: 'tsconfig.json' },
    // Keep `import type` edges (they are dropped by default) and mark them `type-only`.
    tsPreCompilationDeps: true,
    // Resolve packages the way Node 20 ESM does (package.json `exports`, `import` condition).
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
  },
};
