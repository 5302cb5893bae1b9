import type { Admin, ITopicConfig } from 'kafkajs';
import { AuraError } from '../../errors.js';
import { kafkaError } from './errors.js';

/** Metadata of just-created topics takes a moment to reach every broker: retry for up to 30 s. */
async function describeWhenReady(describe: (topics: string[]) => Promise<string[]>, topics: string[]): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await describe(topics);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export interface TopicPlan {
  topic: string;
  /** Partitions when created; `copyOf` takes the count of another topic (the changelog). */
  partitions?: number;
  copyOf?: string;
  compacted?: boolean;
}

/**
 * Creates missing topics (when `create` is set) and validates the changelog co-partitioning:
 * a changelog whose partition count differs from its input's is a startup error, never repaired,
 * because a partition's state must be exactly one changelog partition.
 */
export async function ensureTopics(admin: Admin, plans: TopicPlan[], options: { create: boolean; replicationFactor: number }): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const describe = async (topics: string[]) => {
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    if (present.length > 0) {
      const meta = await admin.fetchTopicMetadata({ topics: present });
      for (const t of meta.topics) {
        if (t.partitions.some((p) => p.leader < 0)) throw new AuraError('BROKER_UNAVAILABLE', `topic ${t.name} has partitions without a leader yet`);
        counts.set(t.name, t.partitions.length);
      }
    }
    return topics.filter((t) => !existing.has(t));
  };
  try {
    let missing = await describeWhenReady(describe, plans.map((p) => p.topic));
    if (missing.length > 0) {
      if (!options.create) {
        throw new AuraError('CONFIG', `topics missing: ${missing.join(', ')}. Create them, or set CREATE_TOPICS=true`);
      }
      // Plain topics first, so a changelog can copy its input's partition count.
      for (const round of [false, true]) {
        const create: ITopicConfig[] = [];
        for (const plan of plans.filter((p) => missing.includes(p.topic) && Boolean(p.copyOf) === round)) {
          const partitions = plan.copyOf ? counts.get(plan.copyOf) : plan.partitions;
          if (!partitions) throw new AuraError('CONFIG', `cannot size ${plan.topic}: ${plan.copyOf} has no partition count`);
          create.push({
            topic: plan.topic,
            numPartitions: partitions,
            replicationFactor: options.replicationFactor,
            configEntries: plan.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
          });
        }
        if (create.length > 0) {
          // A concurrent pod may create the same topics: "already exists" is fine (returns false).
          // Right after creation the metadata may not have reached the broker kafkajs asks while it
          // waits for leaders ("does not host this topic-partition"): the describe below retries.
          await admin.createTopics({ topics: create, waitForLeaders: true }).catch((err: unknown) => {
            const type = (err as { type?: string }).type;
            if (type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE') throw err;
          });
        }
        // A topic just created may not be listed yet: wait until every created one is described.
        const created = new Set(create.map((c) => c.topic));
        missing = await describeWhenReady(async (topics) => {
          const left = await describe(topics);
          const notYet = left.filter((t) => created.has(t));
          if (notYet.length > 0) throw new AuraError('BROKER_UNAVAILABLE', `created topics not visible yet: ${notYet.join(', ')}`);
          return left;
        }, plans.map((p) => p.topic));
      }
    }
  } catch (err) {
    throw kafkaError(err);
  }
  for (const plan of plans.filter((p) => p.copyOf)) {
    const own = counts.get(plan.topic);
    const input = counts.get(plan.copyOf!);
    if (own !== input) {
      throw new AuraError(
        'TOPIC_MISMATCH',
        `changelog ${plan.topic} has ${own} partitions but its input ${plan.copyOf} has ${input}: state would be split across partitions. ` +
          `Recreate the changelog with ${input} partitions (its state is rebuilt from the input only by reprocessing), or point CHANGELOG_TOPIC at a new topic.`,
      );
    }
  }
  return counts;
}
