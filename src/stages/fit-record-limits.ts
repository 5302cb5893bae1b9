import type { SourcePosition } from '../contracts/events.js';
import type { ContextAggregated } from '../contracts/snapshot.js';
import type { UserWindow } from '../contracts/window.js';
import { AuraError } from '../errors.js';
import type { OutRecord } from '../ports.js';
import type { AggregateBatchResult, AggregateInput } from './aggregate-partition.js';

/** Builds the output records of a fold: a snapshot's record and a user's changelog record. */
export interface FoldRecordBuilders {
  snapshot(snapshot: ContextAggregated): OutRecord;
  window(userId: string, window: UserWindow): OutRecord;
}

export interface FittedFold {
  fold: AggregateBatchResult;
  /** Index-aligned with `fold.snapshots`. */
  snapshotRecords: OutRecord[];
  /** One per entry of `fold.states`, in its order. */
  changelogRecords: OutRecord[];
  /** Inputs taken out because one of their records can never be written, with the reason. */
  tooLarge: Array<{ position: SourcePosition; error: AuraError }>;
}

/**
 * Folds `inputs` so that every record it produces can be written: a record `oversize` rejects
 * (a snapshot or a window too large for its topic's `max.message.bytes`, even alone) takes the
 * input that caused it out of the fold, as RECORD_TOO_LARGE, and the fold runs again without it.
 *
 * - An oversized snapshot blames its trigger event.
 * - An oversized window blames the user's largest accepted event of the fold (the latest among
 *   equals); if the window without it is still too large, the next round blames the next one, and
 *   so on. The stored window (before this fold) was written, so it fits: the loop ends at the
 *   latest when none of the user's events of this fold is left.
 *
 * Each round removes at least one input, so there are at most `inputs.length + 1` folds; in the
 * normal case exactly one. Pure apart from what `fold` and the builders call.
 */
export function foldWithinLimits(
  inputs: readonly AggregateInput[],
  fold: (inputs: readonly AggregateInput[]) => AggregateBatchResult,
  build: FoldRecordBuilders,
  oversize: (record: OutRecord) => string | undefined,
): FittedFold {
  const tooLarge: FittedFold['tooLarge'] = [];
  const excluded = new Set<AggregateInput>();
  for (;;) {
    const kept = excluded.size === 0 ? inputs : inputs.filter((i) => !excluded.has(i));
    const result = fold(kept);
    const byOffset = new Map(kept.map((i) => [i.position.offset, i]));
    let oversized = 0;
    let blamed = 0;
    const blame = (position: SourcePosition, reason: string) => {
      oversized++;
      const input = byOffset.get(position.offset);
      if (!input || excluded.has(input)) return;
      excluded.add(input);
      blamed++;
      tooLarge.push({ position, error: new AuraError('RECORD_TOO_LARGE', reason) });
    };

    const snapshotRecords = result.snapshots.map(({ position, snapshot }) => {
      const record = build.snapshot(snapshot);
      const why = oversize(record);
      if (why) blame(position, `the snapshot of this event can never be written: ${why}`);
      return record;
    });
    const changelogRecords: OutRecord[] = [];
    for (const [userId, window] of result.states) {
      const record = build.window(userId, window);
      changelogRecords.push(record);
      const why = oversize(record);
      if (!why) continue;
      const culprit = largestEventOf(userId, result, byOffset);
      if (culprit) blame(culprit, `the window of user ${JSON.stringify(userId.slice(0, 80))} with this event can never be written to the changelog: ${why}`);
      else oversized++;
    }
    // Nothing oversized: done. Oversized but nobody left to blame cannot happen (a window in
    // `states` has an accepted event of this fold); stop rather than loop, the write will say why.
    if (oversized === 0 || blamed === 0) return { fold: result, snapshotRecords, changelogRecords, tooLarge: sortByOffset(tooLarge) };
  }
}

/** Position of `userId`'s accepted event of this fold with the largest body (JSON), latest among equals. */
function largestEventOf(userId: string, result: AggregateBatchResult, byOffset: Map<string, AggregateInput>): SourcePosition | undefined {
  let best: { position: SourcePosition; size: number } | undefined;
  for (const { position, snapshot } of result.snapshots) {
    if (snapshot.user_id !== userId) continue;
    const event = byOffset.get(position.offset)?.event;
    const size = event ? JSON.stringify(event).length : 0;
    if (!best || size >= best.size) best = { position, size };
  }
  return best?.position;
}

function sortByOffset(list: FittedFold['tooLarge']): FittedFold['tooLarge'] {
  return [...list].sort((a, b) => (BigInt(a.position.offset) < BigInt(b.position.offset) ? -1 : 1));
}
