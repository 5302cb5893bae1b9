import { AuraError } from '../../errors.js';

/** A commit request: `offset` is the next offset to read (Kafka's convention), int64 decimal. */
export interface CommittableOffset {
  topic: string;
  partition: number;
  offset: string;
}

interface PartitionState {
  /**
   * Tracked offsets not yet released, in tracking order, mapped to done. The head is always a
   * pending offset (a leading run of done offsets is released at once).
   */
  entries: Map<bigint, boolean>;
  /** Entries whose value is false. */
  pending: number;
  /** Highest offset ever tracked since the last reset; tracking must go strictly up. */
  lastTracked: bigint | null;
  /** Last offset of the leading run of done records; committable offset = released + 1. */
  released: bigint | null;
  /** Highest offset passed to markCommitted since the last reset. */
  committed: bigint | null;
}

const OFFSET = /^(0|[1-9][0-9]*)$/;
const INT64_MAX = (1n << 63n) - 1n;

function parseOffset(offset: string): bigint {
  if (!OFFSET.test(offset)) throw new AuraError('INTERNAL', `offset must be a non-negative int64 decimal string, got "${offset}"`);
  const value = BigInt(offset);
  if (value > INT64_MAX) throw new AuraError('INTERNAL', `offset ${offset} exceeds int64`);
  return value;
}

/**
 * Per (topic, partition), which offset may be committed so that nothing unstored is ever behind the
 * commit (docs/ARCHITECTURE.md §4, at-least-once: nothing is committed that is not stored).
 *
 * Contiguity is defined over TRACKED offsets in tracking order, not over integers: a partition's
 * offsets may have gaps (compaction, transaction markers), so the tracker never waits for an offset
 * it was not given. A record tracked before a pending one blocks everything after it; the
 * committable offset is the last done offset of the leading run of done records, plus one.
 *
 * Lifecycle of a record: `track` when it enters processing (in partition order), `done` when it is
 * stored, sent to the DLQ, or superseded by a later record of the same point id. A partition given
 * up is `reset`; a `done` for a record it no longer knows (an abandoned batch finishing late) is
 * ignored and reported by the return value.
 */
export class CommitTracker {
  private readonly topics = new Map<string, Map<number, PartitionState>>();

  /** Registers a record entering processing. Offsets of a partition must be tracked strictly ascending. */
  track(topic: string, partition: number, offset: string): void {
    const value = parseOffset(offset);
    const state = this.stateOf(topic, partition, true);
    if (state.lastTracked !== null && value <= state.lastTracked) {
      throw new AuraError(
        'INTERNAL',
        `offset ${offset} of ${topic}[${partition}] tracked after ${state.lastTracked}: offsets must be tracked in ascending order (reset the partition before re-reading it)`,
      );
    }
    state.lastTracked = value;
    state.entries.set(value, false);
    state.pending += 1;
  }

  /**
   * Marks a tracked record finished (stored, DLQ'd or superseded). Returns false, changing nothing,
   * when the record is unknown: already done, never tracked, or its partition was reset since.
   */
  done(topic: string, partition: number, offset: string): boolean {
    const value = parseOffset(offset);
    const state = this.stateOf(topic, partition, false);
    if (state === undefined || state.entries.get(value) !== false) return false;
    state.entries.set(value, true);
    state.pending -= 1;
    for (const [tracked, isDone] of state.entries) {
      if (!isDone) break;
      state.entries.delete(tracked);
      state.released = tracked;
    }
    return true;
  }

  /**
   * The partitions whose committable offset advanced past the last `markCommitted` (or that were
   * never committed since tracking began), each with the next offset to read. Does not change
   * state: pass what was actually committed to `markCommitted`.
   */
  committable(): CommittableOffset[] {
    const out: CommittableOffset[] = [];
    for (const [topic, partitions] of this.topics) {
      for (const [partition, state] of partitions) {
        if (state.released === null) continue;
        const next = state.released + 1n;
        if (state.committed === null || next > state.committed) out.push({ topic, partition, offset: next.toString() });
      }
    }
    return out;
  }

  /**
   * Records offsets the broker accepted. Monotonic: an older commit finishing late never moves a
   * partition back. Partitions reset in the meantime are ignored.
   */
  markCommitted(offsets: Iterable<CommittableOffset>): void {
    for (const { topic, partition, offset } of offsets) {
      const value = parseOffset(offset);
      const state = this.stateOf(topic, partition, false);
      if (state === undefined) continue;
      if (state.committed === null || value > state.committed) state.committed = value;
    }
  }

  /** Forgets a partition (on revocation): its pending records will be read again by the next owner. */
  reset(topic: string, partition: number): void {
    const partitions = this.topics.get(topic);
    if (partitions === undefined) return;
    partitions.delete(partition);
    if (partitions.size === 0) this.topics.delete(topic);
  }

  /** Records tracked and not yet done, of one partition or of all; drives back-pressure. */
  pendingCount(topic?: string, partition?: number): number {
    let count = 0;
    for (const [t, partitions] of this.topics) {
      if (topic !== undefined && t !== topic) continue;
      for (const [p, state] of partitions) {
        if (partition !== undefined && p !== partition) continue;
        count += state.pending;
      }
    }
    return count;
  }

  private stateOf(topic: string, partition: number, create: true): PartitionState;
  private stateOf(topic: string, partition: number, create: false): PartitionState | undefined;
  private stateOf(topic: string, partition: number, create: boolean): PartitionState | undefined {
    let partitions = this.topics.get(topic);
    let state = partitions?.get(partition);
    if (state !== undefined || !create) return state;
    if (partitions === undefined) {
      partitions = new Map();
      this.topics.set(topic, partitions);
    }
    state = { entries: new Map(), pending: 0, lastTracked: null, released: null, committed: null };
    partitions.set(partition, state);
    return state;
  }
}
