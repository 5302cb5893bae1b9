/**
 * Did the query interpreter's vocabulary borrow the benchmark's words? The concept descriptions
 * (src/query/concepts.ts) were written without the held-out half of bench/lib/retrieval-questions.ts;
 * this script checks that claim mechanically instead of trusting it.
 *
 *   npx tsx bench/interpret-overlap.ts [out.json]
 *
 * A description *overlaps* a wording when both contain the same two content words in a row (after
 * lower-casing, dropping stop words and a crude suffix strip: "feeling blue" ~ "feel blue",
 * "depressed and gloomy" ~ "really depressed and gloomy"). Single shared words are not counted:
 * "cardio" or "stressed" are the field's own vocabulary, not a borrowed phrase.
 *
 * Prints every overlapping description with the wordings it shares a pair with, per half (tuning,
 * held-out) and for the off-catalogue questions, and writes to `out.json` (if given) the
 * InterpreterOptions `{ "concepts": [...] }` with every description that overlaps a held-out
 * wording removed. Run bench/retrieval.ts with `BENCH_INTERPRET="$(cat out.json)"` to measure the
 * interpreter without them: the held-out figure that owes nothing to a borrowed phrase.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONCEPTS, type Concept } from '../src/query/index.js';
import { FAMILIES, OFF_CATALOG } from './lib/retrieval-questions.js';

const STOP = new Set(
  'a an the and or but of to in on at for with about my me i i\'m i\'ve im ive he she they we you his her their our your is are was were be been being am has have had do does did not no very really so just all this that these those it its who whose someone somebody person users user people lately week day days time most much more some any'.split(' '),
);

function stem(word: string): string {
  return word.replace(/(ing|ed|ly|es|s)$/, '') || word;
}

/** The content-word pairs of a text, in order ("feel blue", "depress gloomy"). */
export function contentPairs(text: string): Set<string> {
  const words = text.toLowerCase().replace(/[^a-z' ]+/g, ' ').split(/\s+/).filter((w) => w && !STOP.has(w)).map(stem);
  const pairs = new Set<string>();
  for (let i = 0; i + 1 < words.length; i++) pairs.add(`${words[i]} ${words[i + 1]}`);
  return pairs;
}

interface Overlap {
  concept: string;
  description: string;
  wordings: string[];
}

export function overlaps(concepts: readonly Concept[], wordings: readonly string[]): Overlap[] {
  const byWording = wordings.map((w) => ({ w, pairs: contentPairs(w) }));
  const out: Overlap[] = [];
  for (const c of concepts) {
    for (const description of c.descriptions) {
      const pairs = contentPairs(description);
      const hit = byWording.filter(({ pairs: wp }) => [...pairs].some((p) => wp.has(p))).map(({ w }) => w);
      if (hit.length > 0) out.push({ concept: c.id, description, wordings: hit });
    }
  }
  return out;
}

function main(): void {
  const halves = {
    tuning: FAMILIES.flatMap((f) => f.tuning),
    held_out: FAMILIES.flatMap((f) => f.heldOut),
    off_catalog: [...OFF_CATALOG],
  };
  const total = CONCEPTS.reduce((n, c) => n + c.descriptions.length, 0);
  console.log(`${CONCEPTS.length} concepts, ${total} descriptions`);
  for (const [half, wordings] of Object.entries(halves)) {
    const found = overlaps(CONCEPTS, wordings);
    console.log(`\n${half}: ${found.length} description(s) share a content-word pair with ${new Set(found.flatMap((o) => o.wordings)).size} of ${wordings.length} wordings`);
    for (const o of found) console.log(`  ${o.concept.padEnd(22)} "${o.description}"  ~  ${o.wordings.map((w) => `"${w}"`).join(', ')}`);
  }
  const out = process.argv[2];
  if (out) {
    const drop = new Set(overlaps(CONCEPTS, halves.held_out).map((o) => `${o.concept}\u0000${o.description}`));
    const concepts = CONCEPTS.map((c) => ({ ...c, descriptions: c.descriptions.filter((d) => !drop.has(`${c.id}\u0000${d}`)) }));
    writeFileSync(out, JSON.stringify({ concepts }));
    console.log(`\nwrote ${out}: the concepts without the ${drop.size} description(s) that overlap a held-out wording`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
