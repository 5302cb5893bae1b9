import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { Observable } from 'rxjs';
import type { Embedder, EmbeddingCache } from '../../../src/ports.js';
import { coalescePoints, embedCached, planErasures, toPoints, type AggregatedItem } from '../../../src/pipeline/index.js';

// A vectorize batch passes Planned → Coalesced → Embedded → Prepared → Stored → Vectorized →
// Encoded → Emitted (src/pipeline/domain/batch-work.ts), one operator per arrow. When it was one
// bag pre-filled with empty values, swapping embedCached and toPoints compiled and wrote no point.

/** Never called: `npm run typecheck` fails if the marked line compiles. */
export function swappedEmbedAndPoints(batch$: Observable<AggregatedItem[]>, embedder: Embedder, cache: EmbeddingCache): void {
  // @ts-expect-error toPoints needs the vectors embedCached adds (Embedded), and gets Coalesced
  batch$.pipe(planErasures(), coalescePoints(), toPoints(embedder), embedCached({ embedder, cache, now: Date.now }));
}

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..', '..');
const PIPELINE = join(ROOT, 'src', 'pipeline', 'index.js');

/** The stage's nine batch steps as a snippet can call them, with the deps they need declared. */
const PRELUDE = `
import { Observable } from 'rxjs';
import { coalescePoints, embedCached, markDone, planErasures, produceOutRecords, storeBatch, toErasedRecords, toPoints, toVectorizedRecords, type AggregatedItem, type CommitTracker, type RetryStep } from ${JSON.stringify(PIPELINE)};
import type { Embedder, EmbeddingCache, RecordWriter, VectorizeCodec, VectorWriter } from ${JSON.stringify(join(ROOT, 'src', 'ports.js'))};
declare const batch$: Observable<AggregatedItem[]>;
declare const embedder: Embedder;
declare const cache: EmbeddingCache;
declare const sink: VectorWriter;
declare const writer: RecordWriter;
declare const codec: VectorizeCodec;
declare const tracker: CommitTracker;
declare const retry: RetryStep;
const now = Date.now;
const plan = planErasures();
const coalesce = coalescePoints();
const embed = embedCached({ embedder, cache, now });
const points = toPoints(embedder);
const store = storeBatch({ sink, now, retry });
const vectorized = toVectorizedRecords({ outputTopic: 'out', codec, embedder, sink });
const erased = toErasedRecords({ erasedTopic: 'erased', codec, sink });
const produce = produceOutRecords({ writer, retry });
const done = markDone({ tracker, now });
`;

/** Type-checks `body` after the prelude with the project's compiler options; returns the errors' messages. */
function typeErrors(cases: Record<string, string>): Record<string, string[]> {
  const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(String(d.messageText)) });
  assert.ok(config, 'tsconfig.json parses');
  const files = new Map(Object.entries(cases).map(([name, body]) => [join(HERE, `__order-${name}.ts`), `${PRELUDE}\n${body}\n`]));
  const host = ts.createCompilerHost(config.options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.readFile = (f) => files.get(f) ?? readFile(f);
  host.fileExists = (f) => files.has(f) || fileExists(f);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (f, lang, ...rest) => (files.has(f) ? ts.createSourceFile(f, files.get(f)!, lang) : getSourceFile(f, lang, ...rest));
  const program = ts.createProgram([...files.keys()], { ...config.options, noEmit: true, noUnusedLocals: false }, host);
  return Object.fromEntries(
    Object.keys(cases).map((name) => {
      const file = program.getSourceFile(join(HERE, `__order-${name}.ts`))!;
      return [name, ts.getPreEmitDiagnostics(program, file).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))];
    }),
  );
}

describe('vectorize batch steps: each operator takes the type the previous one returns', () => {
  it('the stage\'s order compiles, and every order that reads a field before its step fills it does not', () => {
    const errors = typeErrors({
      // The topology's order (two pipes: rxjs types at most nine operators per pipe).
      stage: 'batch$.pipe(plan, coalesce, embed, points).pipe(store, vectorized, erased, produce, done);',
      // The example: before, this compiled and wrote no point.
      swappedEmbedAndPoints: 'batch$.pipe(plan, coalesce, points, embed);',
      embedSkipped: 'batch$.pipe(plan, coalesce, points);',
      coalesceSkipped: 'batch$.pipe(plan, embed);',
      storedBeforePoints: 'batch$.pipe(plan, coalesce, embed, store);',
      encodedBeforeStore: 'batch$.pipe(plan, coalesce, embed, points, vectorized);',
      erasuresBeforeVectorized: 'batch$.pipe(plan, coalesce, embed, points).pipe(store, erased, vectorized);',
      doneBeforeProduce: 'batch$.pipe(plan, coalesce, embed, points).pipe(store, vectorized, erased, done);',
      produceBeforeErasures: 'batch$.pipe(plan, coalesce, embed, points).pipe(store, vectorized, produce);',
    });
    assert.deepEqual(errors['stage'], [], 'the stage\'s order type-checks');
    const expectations: Record<string, RegExp> = {
      swappedEmbedAndPoints: /Coalesced.*Embedded|Embedded.*Coalesced/s,
      embedSkipped: /Coalesced.*Embedded|Embedded.*Coalesced/s,
      coalesceSkipped: /Planned.*Coalesced|Coalesced.*Planned/s,
      storedBeforePoints: /Embedded.*Prepared|Prepared.*Embedded/s,
      encodedBeforeStore: /Prepared.*Stored|Stored.*Prepared/s,
      erasuresBeforeVectorized: /Stored.*Vectorized|Vectorized.*Stored/s,
      doneBeforeProduce: /Encoded.*Emitted|Emitted.*Encoded/s,
      produceBeforeErasures: /Vectorized.*Encoded|Encoded.*Vectorized/s,
    };
    for (const [name, pattern] of Object.entries(expectations)) {
      const messages = errors[name] ?? [];
      assert.ok(messages.length > 0, `${name} must not compile`);
      assert.ok(messages.some((m) => pattern.test(m)), `${name} fails on the step types (${pattern}), got: ${messages.join(' | ')}`);
    }
  });
});
