import { filter, map, scan } from 'rxjs';
import type { Phases } from '../src/lifecycle.js';
import type { AggregateEvent } from './aggregate.js';
import type { VectorizeEvent } from './vectorize.js';

/**
 * Each stage's `Phases`: restoring / running as its events say, for `lifecycle$` (src/lifecycle.ts,
 * the one lifecycle module, which owns the states and the legal moves).
 */

/** vectorize holds no state to restore: running from its first assignment. */
export const vectorizePhases: Phases<VectorizeEvent> = (events$) =>
  events$.pipe(
    filter((e) => e.type === 'assigned'),
    map(() => 'running' as const),
  );

/**
 * aggregate restores every newly assigned partition from its changelog before it processes it:
 * restoring while any assigned partition is not restored yet, running once all are.
 */
export const aggregatePhases: Phases<AggregateEvent> = (events$) =>
  events$.pipe(
    filter((e): e is Extract<AggregateEvent, { type: 'assigned' | 'restored' }> => e.type === 'assigned' || e.type === 'restored'),
    scan((restoring, e) => {
      const next = new Set(restoring);
      if (e.type === 'assigned') {
        for (const p of [...next]) if (!e.partitions.includes(p)) next.delete(p);
        for (const p of e.restoring) next.add(p);
      } else next.delete(e.partition);
      return next;
    }, new Set<number>()),
    map((restoring) => (restoring.size > 0 ? ('restoring' as const) : ('running' as const))),
  );
