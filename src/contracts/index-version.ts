import { createHash } from 'node:crypto';

/**
 * Versions of the vector index (docs/reindex.md). A version is what makes two vectors comparable:
 * the model (its id and the hash of its manifest / ONNX file) and the text version of the renderer
 * that wrote the embedded text. Each version lives in its own physical collection (Qdrant) or
 * table (LanceDB); readers go through the stable alias `<VECTOR_COLLECTION>`.
 *
 * Physical name grammar (letters, digits, `_`, `-`, `.` only, so it is a valid LanceDB table and
 * Qdrant collection name):
 *   <alias>__<model-slug>_<manifest8>_t<text_version>
 *   model-slug := model id lower-cased, every run of other characters than [a-z0-9] → `-`,
 *                 trimmed of `-`, cut to 40 characters ("" → "model")
 *   manifest8  := the first 8 hex characters of manifest_sha256; when none is recorded, of
 *                 sha256(model_version)
 */
export interface IndexVersion {
  model_id: string;
  /** Content hash of the model's ONNX file (EmbedderInfo.modelVersion). */
  model_version: string;
  /** sha256 of the model's manifest (EmbedderInfo.manifestSha256); '' when not recorded. */
  manifest_sha256: string;
  /** Version of the text renderer (src/pipeline/domain/render-text.ts TEXT_VERSION). */
  text_version: number;
}

/** The separator between the alias and the version part of a physical name. */
export const VERSION_SEPARATOR = '__';

export function modelSlug(modelId: string): string {
  const slug = modelId
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return slug === '' ? 'model' : slug;
}

/** The physical collection (table) of `version` behind `alias`. */
export function versionCollection(alias: string, version: IndexVersion): string {
  const manifest8 = /^[0-9a-f]{8}/.test(version.manifest_sha256) ? version.manifest_sha256.slice(0, 8) : createHash('sha256').update(version.model_version).digest('hex').slice(0, 8);
  return `${alias}${VERSION_SEPARATOR}${modelSlug(version.model_id)}_${manifest8}_t${version.text_version.toFixed(0)}`;
}

/** True when `collection` is a physical version collection of `alias` (by name). */
export function isVersionOf(alias: string, collection: string): boolean {
  return collection.startsWith(`${alias}${VERSION_SEPARATOR}`) && collection.length > alias.length + VERSION_SEPARATOR.length;
}

export function sameVersion(a: IndexVersion, b: IndexVersion): boolean {
  return a.model_id === b.model_id && a.model_version === b.model_version && a.manifest_sha256 === b.manifest_sha256 && a.text_version === b.text_version;
}

/** `model <id> (<hash12>), text v<n>` for logs and messages. */
export function describeVersion(v: IndexVersion | undefined): string {
  if (v === undefined) return 'an unversioned index (written before versions existed)';
  return `model ${v.model_id} (manifest ${(v.manifest_sha256 || v.model_version).slice(0, 12)}), text v${v.text_version}`;
}

/** The version fields as stored in a point payload or collection metadata; undefined when absent or malformed. */
export function readVersion(value: unknown): IndexVersion | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const o = value as Record<string, unknown>;
  if (typeof o.model_id !== 'string' || typeof o.model_version !== 'string' || typeof o.text_version !== 'number') return undefined;
  return { model_id: o.model_id, model_version: o.model_version, manifest_sha256: typeof o.manifest_sha256 === 'string' ? o.manifest_sha256 : '', text_version: o.text_version };
}
