import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import type { Config } from '../config.js';
import { AuraError, classify } from '../errors.js';
import type { AvroSerde } from '../adapters/avro-serde.js';

/**
 * `aura-stream topics apply`: what production needs before the stages start with
 * CREATE_TOPICS=false and REGISTER_SCHEMAS=false, run once by a principal allowed to create topics
 * and register schemas (docs/security.md). Idempotent: a second run changes nothing and says so.
 *
 * - Every topic of the pipeline, created when missing with TOPIC_PARTITIONS partitions,
 *   TOPIC_REPLICATION_FACTOR and `min.insync.replicas` (TOPIC_MIN_INSYNC_REPLICAS, default
 *   replication factor − 1, at least 1), so `acks=all` survives one broker down.
 * - The changelog with the input's partition count, `cleanup.policy=compact` and
 *   `max.compaction.lag.ms` (CHANGELOG_MAX_COMPACTION_LAG_MS): the bound the erasure section relies on
 *   for how long an erased window stays readable behind its tombstone.
 * - Existing topics are never altered: a setting that differs from the plan (or a changelog whose
 *   partition count is not its input's) is reported as `differs` with the fix, and the run exits 1.
 * - Every schema registered under its subject (an incompatible one is refused by the registry).
 */

// kafkajs is CommonJS: its enums are reached through the default export
const { ConfigResourceTypes } = kafkajs;

export interface TopicSpec {
  topic: string;
  partitions: number | 'input';
  configs: Record<string, string>;
}

/** The topics of the pipeline and the settings `apply` gives them. */
export function topicSpecs(config: Config): TopicSpec[] {
  const minIsr = String(config.topicMinInsyncReplicas);
  const plain = (topic: string): TopicSpec => ({ topic, partitions: config.topicPartitions, configs: { 'min.insync.replicas': minIsr } });
  return [
    plain(config.inputTopic),
    plain(config.aggregatedTopic),
    plain(config.vectorizedTopic),
    plain(config.erasedTopic),
    plain(config.inputDlqTopic),
    plain(config.aggregatedDlqTopic),
    {
      topic: config.changelogTopic,
      partitions: 'input',
      configs: { 'min.insync.replicas': minIsr, 'cleanup.policy': 'compact', 'max.compaction.lag.ms': String(config.changelogMaxCompactionLagMs) },
    },
  ];
}

export type ApplyLine = { what: 'created' | 'unchanged' | 'differs' | 'registered'; name: string; detail: string };

async function describeConfigs(admin: Admin, topics: string[], names: string[]): Promise<Map<string, Map<string, string>>> {
  const out = new Map<string, Map<string, string>>();
  if (topics.length === 0) return out;
  const r = await admin.describeConfigs({ includeSynonyms: false, resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: names })) });
  for (const res of r.resources) out.set(res.resourceName, new Map(res.configEntries.map((e) => [e.configName, e.configValue])));
  return out;
}

async function settled<T>(read: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await read();
    } catch (err) {
      if (Date.now() > deadline || !classify(err).retriable) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Creates what is missing, reports what differs, registers the schemas; returns one line per topic and subject. */
export async function applyTopics(kafka: Kafka, serde: AvroSerde, config: Config, subjects: Array<{ subject: string; fullName: string }>): Promise<ApplyLine[]> {
  const specs = topicSpecs(config);
  const lines: ApplyLine[] = [];
  const admin = kafka.admin();
  await admin.connect();
  try {
    // Metadata of a just-created topic takes a moment to reach every broker ("does not host this
    // topic-partition"): retried for up to 30 s, as the stages' own start-up does.
    const partitionsOf = (topics: string[]) =>
      settled(async () => {
        const existing = new Set(await admin.listTopics());
        const present = topics.filter((t) => existing.has(t));
        const meta = present.length > 0 ? await admin.fetchTopicMetadata({ topics: present }) : { topics: [] };
        return new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
      });
    const before = await partitionsOf(specs.map((s) => s.topic));
    // Plain topics first: the changelog copies the input's partition count.
    for (const round of [false, true]) {
      const counts = round ? await partitionsOf([config.inputTopic]) : before;
      const create = specs
        .filter((s) => (s.partitions === 'input') === round && !before.has(s.topic))
        .map((s) => {
          const numPartitions = s.partitions === 'input' ? counts.get(config.inputTopic) : s.partitions;
          if (numPartitions === undefined) throw new AuraError('CONFIG', `cannot size ${s.topic}: ${config.inputTopic} has no partition count`);
          return { topic: s.topic, numPartitions, replicationFactor: config.topicReplicationFactor, configEntries: Object.entries(s.configs).map(([name, value]) => ({ name, value })) };
        });
      if (create.length > 0) {
        await admin.createTopics({ topics: create, waitForLeaders: true }).catch((err: unknown) => {
          const type = (err as { type?: string }).type;
          if (type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE') throw err;
        });
      }
      for (const c of create) lines.push({ what: 'created', name: c.topic, detail: `${c.numPartitions} partitions, replication ${c.replicationFactor}, ${c.configEntries.map((e) => `${e.name}=${e.value}`).join(', ')}` });
    }
    const existing = specs.filter((s) => before.has(s.topic));
    const configs = await describeConfigs(admin, existing.map((s) => s.topic), [...new Set(existing.flatMap((s) => Object.keys(s.configs)))]);
    const inputCount = (await partitionsOf([config.inputTopic])).get(config.inputTopic);
    for (const s of existing) {
      const have = configs.get(s.topic) ?? new Map<string, string>();
      const diffs = Object.entries(s.configs)
        .filter(([name, value]) => have.get(name) !== value)
        .map(([name, value]) => `${name}=${have.get(name) ?? '(unset)'}, planned ${value}`);
      const count = before.get(s.topic)!;
      if (s.partitions === 'input' && count !== inputCount) diffs.push(`${count} partitions but its input ${config.inputTopic} has ${inputCount}: recreate it (docs/security.md)`);
      lines.push(
        diffs.length === 0
          ? { what: 'unchanged', name: s.topic, detail: `${count} partitions, ${Object.entries(s.configs).map(([n, v]) => `${n}=${v}`).join(', ')}` }
          : { what: 'differs', name: s.topic, detail: `${diffs.join('; ')} (existing topics are not altered: change them with kafka-configs.sh --alter)` },
      );
    }
  } catch (err) {
    throw err instanceof AuraError ? err : classify(err);
  } finally {
    await admin.disconnect();
  }
  for (const { subject, fullName } of subjects) {
    const known = await serde.client.getLatestSchemaMetadata(subject).then((m) => m.id, () => undefined);
    const id = await serde.register(subject, fullName);
    lines.push(id === known ? { what: 'unchanged', name: subject, detail: `schema id ${id}` } : { what: 'registered', name: subject, detail: `schema id ${id}` });
  }
  return lines;
}

/** What `topics apply` prints: one line per topic and subject, then whether anything changed. */
export function formatApply(lines: ApplyLine[]): string[] {
  const changed = lines.filter((l) => l.what === 'created' || l.what === 'registered').length;
  const differs = lines.filter((l) => l.what === 'differs').length;
  return [
    ...lines.map((l) => `${l.what.padEnd(10)} ${l.name}  ${l.detail}`),
    changed === 0 && differs === 0 ? 'nothing changed: every topic and schema is as planned' : `${changed} created or registered, ${differs} differing from the plan`,
  ];
}
