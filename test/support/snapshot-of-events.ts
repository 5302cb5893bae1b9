// The snapshot the oracles make of a list of events (each rolled into the window in turn, the last
// one triggering): statistics computed as the pipeline does, for unit tests. Not a test file.
import type { UserEvent } from '../../src/contracts/events.js';
import type { ContextAggregated } from '../../src/contracts/snapshot.js';
import type { UserWindow } from '../../src/contracts/window.js';
import type { SnapshotConfig } from '../../src/pipeline/domain/snapshot-of.js';
import { rollWindow } from '../oracles/roll-window.js';
import { toSnapshot } from '../oracles/to-snapshot.js';
import { position } from './aggregate-fixtures.js';

export const SNAPSHOT_CONFIG: SnapshotConfig = { windowDays: 7, maxEvents: 512, aggregatorVersion: '1.0.0-test' };

/** Events at offsets 100, 101, … of partition 2; the snapshot of the last one. */
export function snapshotOfEvents(events: readonly UserEvent[], config: SnapshotConfig = SNAPSHOT_CONFIG): ContextAggregated {
  let window: UserWindow | undefined;
  events.forEach((e, i) => {
    window = rollWindow(window, e, 100 + i, config).window;
  });
  return toSnapshot(window!, events.at(-1)!, position(100 + events.length - 1, 2), config);
}
