import { map, type OperatorFunction } from 'rxjs';
import type { EmbedderInfo } from '../../ports.js';
import type { Embedded, Prepared } from '../domain/batch-work.js';
import { toPoint } from '../domain/to-point.js';

/** The points to upsert: one per kept item, with its vector (see toPoint). */
export function toPoints(embedder: Pick<EmbedderInfo, 'modelId' | 'modelVersion' | 'manifestSha256'>): OperatorFunction<Embedded, Prepared> {
  return map((work): Prepared => ({ ...work, points: work.kept.map((item, i) => toPoint(item, work.vectors[i]!, embedder)) }));
}
