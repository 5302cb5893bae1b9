// Decoding and picking ContextAggregated records in tests (broker or in-memory log). Not a test file.
import type { AvroSerde } from '../../src/adapters/avro-serde.js';
import { CONTEXT_ERASED_FULL_NAME, type ContextErased } from '../../src/contracts/erasure.js';
import type { ContextAggregated } from '../../src/contracts/snapshot.js';
import type { SourceRecord } from '../../src/ports.js';

export interface SnapshotRecord {
  partition: number;
  offset: string;
  key: string | null;
  headers: Record<string, Buffer | undefined>;
  snapshot: ContextAggregated;
}

/** Decodes the ContextAggregated records (Avro through the registry) into plain objects; erasure markers are left out. */
export async function decodeSnapshots(serde: AvroSerde, records: readonly SourceRecord[]): Promise<SnapshotRecord[]> {
  const out: SnapshotRecord[] = [];
  for (const r of records) {
    const decoded = await serde.decode(r.value);
    if (decoded.fullName === CONTEXT_ERASED_FULL_NAME) continue;
    out.push({
      partition: r.partition,
      offset: r.offset,
      key: r.key?.toString('utf8') ?? null,
      headers: r.headers,
      snapshot: JSON.parse(JSON.stringify(decoded.value)) as ContextAggregated,
    });
  }
  return out;
}

export interface MarkerRecord {
  partition: number;
  offset: string;
  key: string | null;
  marker: ContextErased;
}

/** Decodes the ContextErased markers of an aggregated topic's records, in the order given. */
export async function decodeMarkers(serde: AvroSerde, records: readonly SourceRecord[]): Promise<MarkerRecord[]> {
  const out: MarkerRecord[] = [];
  for (const r of records) {
    const decoded = await serde.decode(r.value);
    if (decoded.fullName !== CONTEXT_ERASED_FULL_NAME) continue;
    out.push({ partition: r.partition, offset: r.offset, key: r.key?.toString('utf8') ?? null, marker: JSON.parse(JSON.stringify(decoded.value)) as ContextErased });
  }
  return out;
}

/** Per user, the snapshot at the highest offset (a user's snapshots share one partition: keyed). */
export function lastSnapshotPerUser(records: readonly SnapshotRecord[]): Map<string, ContextAggregated> {
  const last = new Map<string, SnapshotRecord>();
  for (const r of records) {
    const seen = last.get(r.snapshot.user_id);
    if (seen && seen.partition !== r.partition) throw new Error(`user ${r.snapshot.user_id} has snapshots in partitions ${seen.partition} and ${r.partition}`);
    if (!seen || BigInt(r.offset) > BigInt(seen.offset)) last.set(r.snapshot.user_id, r);
  }
  return new Map([...last].map(([u, r]) => [u, r.snapshot]));
}

