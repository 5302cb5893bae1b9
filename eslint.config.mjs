// ESLint for what tsc does not catch: promises nobody awaits or handles (a lost rejection in a
// stream processor is a lost record or a silent stall). Style is not linted here. Import
// boundaries are .dependency-cruiser.cjs's job (run first by `npm run lint`); the topology rule
// below repeats the main one so an editor flags it as you type.
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['dist/', 'node_modules/', '.cache/', '.aura-state/', 'bin/', 'scripts/']),
  {
    files: ['src/**/*.ts', 'topology/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      // Typed linting against tsconfig.json (which includes src, topology, test and bench).
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Every promise is awaited, returned, .catch()-ed, or explicitly `void`-ed with a reason.
      // node:test's top-level describe/it/test return promises the runner itself tracks.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] },
          ],
        },
      ],
      // No async function where a void callback is expected (event handlers, forEach, timers):
      // its rejection would escape every handler.
      '@typescript-eslint/no-misused-promises': 'error',
      // `await` on a non-promise is a bug or a leftover.
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    // Second line of defence for .dependency-cruiser.cjs `topology-only-wiring`.
    files: ['topology/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!rxjs(/|$)|\\.)',
              message: 'topology/ imports no package but rxjs; reach I/O through a port from src/ports.ts.',
            },
            {
              group: ['**/adapters/**', '**/cli/**', '**/stack/**'],
              message: 'topology/ never imports src/adapters, src/cli or src/stack; src/cli wires adapters in.',
            },
          ],
        },
      ],
    },
  },
);
