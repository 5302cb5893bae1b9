import { map, type MonoTypeOperatorFunction } from 'rxjs';
import type { EmbedderInfo } from '../../ports.js';
import type { BatchWork } from '../domain/batch-work.js';
import { toPoint } from '../domain/to-point.js';

/** The points to upsert: one per kept item, with its vector (see toPoint). */
export function toPoints(embedder: Pick<EmbedderInfo, 'modelId' | 'modelVersion' | 'manifestSha256'>): MonoTypeOperatorFunction<BatchWork> {
  return map((work) => ({ ...work, points: work.kept.map((item, i) => toPoint(item, work.vectors[i]!, embedder)) }));
}
