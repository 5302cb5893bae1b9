/**
 * `interpreted:<model>`: questions through the shipped query path with the query interpreter on.
 * The corpus is written into an embedded LanceDB exactly as the vectorize stage builds points
 * (toPoint), and every question is answered by `searchContext` with `createInterpreter` over the
 * same model, top 10: the interpretation's filters select, the text (or the interpretation's
 * order_by) ranks inside them, and the plain text ranking fills when fewer than 10 match. Nothing
 * here re-implements filters or ordering: it is what `aura-stream search` runs once wired.
 *
 * It also reports the cost of interpreting: the share of OFF_CATALOG questions (about things the
 * payload does not measure) that the interpreter turns into filters.
 *
 * BENCH_INTERPRET (optional JSON of InterpreterOptions: threshold, margin, secondWithin) overrides
 * the shipped defaults for a tuning run; BENCH_INTERPRET_LOG=1 prints each question's interpretation.
 */
import { basename } from 'node:path';
import { createTransformersEmbedder } from '../../src/adapters/transformers-embedder.js';
import { createInterpreter, searchContext, type InterpreterOptions } from '../../src/query/index.js';
import { loadedStore, rankingRow, SEARCH_LIMIT } from './hybrid-rankers.js';
import type { RankerFactory } from './ranker.js';
import { OFF_CATALOG } from './retrieval-questions.js';

function options(): InterpreterOptions {
  const raw = process.env['BENCH_INTERPRET'];
  if (!raw) return {};
  const parsed = JSON.parse(raw) as InterpreterOptions;
  console.log(`interpreter options from BENCH_INTERPRET: ${JSON.stringify(parsed)}`);
  return parsed;
}

export function interpretedRanker(folder: string, threads: number): RankerFactory {
  const name = `interpreted:${basename(folder)}`;
  return {
    name,
    async create(corpus) {
      const embedder = await createTransformersEmbedder({ modelPath: folder, threads });
      const { sink, cleanup, points, index } = await loadedStore(name, 'lancedb', folder, embedder, corpus);
      const opts = options();
      const interpreter = createInterpreter(embedder, opts);
      const log = process.env['BENCH_INTERPRET_LOG'] === '1';
      const offCatalog: Array<{ query: string; concepts: string[] }> = [];
      for (const query of OFF_CATALOG) {
        const i = await interpreter.interpret(query);
        offCatalog.push({ query, concepts: i ? i.concepts.map((c) => c.id) : [] });
      }
      const interpretedOff = offCatalog.filter((o) => o.concepts.length > 0);
      const offRate = interpretedOff.length / OFF_CATALOG.length;
      console.log(
        `${name}: off-catalogue questions interpreted ${interpretedOff.length}/${OFF_CATALOG.length}` +
          (interpretedOff.length > 0 ? ` (${interpretedOff.map((o) => `"${o.query}" → ${o.concepts.join(' + ')}`).join('; ')})` : ''),
      );
      let interpretedCount = 0;
      let filled = 0;
      let asked = 0;
      const info: Record<string, unknown> = { store: 'lancedb', model_id: embedder.modelId, limit: SEARCH_LIMIT, points: points.length, interpreter_options: opts, off_catalog_interpreted_rate: offRate, off_catalog: offCatalog };
      return {
        name,
        info,
        async scores(queries) {
          const rows: number[][] = [];
          for (const text of queries) {
            const answer = await searchContext({ reader: sink, embedder, mode: 'dense', interpreter }, { text, limit: SEARCH_LIMIT });
            asked += 1;
            if (answer.interpreted_as) {
              interpretedCount += 1;
              filled += SEARCH_LIMIT - answer.interpreted_as.matched;
            }
            if (log) {
              const a = answer.interpreted_as;
              console.log(`  ${text.padEnd(50)} → ${a ? `${a.concepts.map((c) => `${c.id} ${c.similarity.toFixed(3)}`).join(' + ')}${a.order_by ? ` by ${a.order_by.field} ${a.order_by.direction}` : ''} (${a.matched} matched)` : 'null'}`);
            }
            rows.push(rankingRow(answer.hits.map((h) => h.id), index, points.length));
          }
          return rows;
        },
        async close() {
          console.log(`${name}: ${interpretedCount}/${asked} questions interpreted, ${filled} hits filled from the plain text ranking`);
          Object.assign(info, { questions_interpreted: interpretedCount, questions: asked, hits_filled: filled });
          await sink.close();
          await embedder.close();
          await cleanup();
        },
      };
    },
  };
}
