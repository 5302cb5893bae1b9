import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The query interpreter's description vectors (src/query/interpret.ts, DescriptionCache) in one
 * small file per key, so each `aura-stream search` process reads them (a few ms) instead of
 * embedding ~230 descriptions again (~0.6 s with bge-small on 2 cores).
 *
 * File `<dir>/<key>.bin`, key = descriptionCacheKey (sha256 hex of model identity and texts):
 *   magic "AURADESC" (8 bytes) ‖ format u32 ‖ count u32 ‖ dimension u32 ‖ key (32 bytes)
 *   ‖ float32 × count × dimension ‖ sha256 of everything before (32 bytes)     all little-endian
 * A file that is short, long, of another format or key, or whose checksum does not match is a
 * miss: the interpreter embeds the descriptions again and this file is rewritten. Writes go to a
 * temporary file in the same folder and are renamed over the target, so a reader sees the old file
 * or the new one, never half of one. Files of other keys (another model, changed descriptions)
 * stay until the folder is deleted, which is always safe (they are ~350 KB each).
 */
const MAGIC = Buffer.from('AURADESC', 'ascii');
const FORMAT = 1;
const HEADER = MAGIC.length + 12 + 32;
const CHECKSUM = 32;
const KEY = /^[0-9a-f]{64}$/;

/** Where the CLI and `serve` keep them: `<STATE_DIR>/cache/interpreter` (never the model folder, read-only in the image). */
export function descriptionCacheDir(stateDir: string): string {
  return join(stateDir, 'cache', 'interpreter');
}

export interface FileDescriptionCacheOptions {
  /** The folder of the files, e.g. `<STATE_DIR>/cache/interpreter`; created on the first write. */
  dir: string;
  /** Told once when a file cannot be written (e.g. a read-only STATE_DIR): the next process embeds again. */
  warn?: (message: string) => void;
}

export interface FileDescriptionCache {
  get(key: string): Promise<Float32Array[] | undefined>;
  put(key: string, vectors: readonly Float32Array[]): Promise<void>;
  /** The file a key is stored in. */
  path(key: string): string;
}

export function encodeDescriptionVectors(key: string, vectors: readonly Float32Array[]): Buffer {
  const dimension = vectors[0]?.length ?? 0;
  if (!KEY.test(key)) throw new Error(`description cache key must be 64 hex digits, got ${JSON.stringify(key)}`);
  if (vectors.some((v) => v.length !== dimension)) throw new Error('description vectors must all have one length');
  const body = Buffer.alloc(HEADER + vectors.length * dimension * 4);
  MAGIC.copy(body, 0);
  body.writeUInt32LE(FORMAT, 8);
  body.writeUInt32LE(vectors.length, 12);
  body.writeUInt32LE(dimension, 16);
  Buffer.from(key, 'hex').copy(body, 20);
  let at = HEADER;
  for (const v of vectors) for (let i = 0; i < dimension; i++, at += 4) body.writeFloatLE(v[i]!, at);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

/** The vectors of a file written for `key`; undefined for anything else (damaged, truncated, another key or format). */
export function decodeDescriptionVectors(key: string, file: Buffer): Float32Array[] | undefined {
  if (file.length < HEADER + CHECKSUM || !file.subarray(0, 8).equals(MAGIC) || file.readUInt32LE(8) !== FORMAT) return undefined;
  const count = file.readUInt32LE(12);
  const dimension = file.readUInt32LE(16);
  if (file.length !== HEADER + count * dimension * 4 + CHECKSUM || !file.subarray(20, HEADER).equals(Buffer.from(key, 'hex'))) return undefined;
  const body = file.subarray(0, file.length - CHECKSUM);
  if (!createHash('sha256').update(body).digest().equals(file.subarray(file.length - CHECKSUM))) return undefined;
  const vectors: Float32Array[] = [];
  let at = HEADER;
  for (let n = 0; n < count; n++) {
    const v = new Float32Array(dimension);
    for (let i = 0; i < dimension; i++, at += 4) v[i] = file.readFloatLE(at);
    vectors.push(v);
  }
  return vectors;
}

export function createFileDescriptionCache(options: FileDescriptionCacheOptions): FileDescriptionCache {
  const path = (key: string) => join(options.dir, `${key}.bin`);
  let warned = false;
  return {
    path,
    async get(key) {
      if (!KEY.test(key)) return undefined;
      try {
        return decodeDescriptionVectors(key, await readFile(path(key)));
      } catch {
        return undefined; // missing or unreadable: a miss
      }
    },
    async put(key, vectors) {
      if (!KEY.test(key)) return;
      const tmp = `${path(key)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        await mkdir(options.dir, { recursive: true });
        await writeFile(tmp, encodeDescriptionVectors(key, vectors));
        await rename(tmp, path(key));
      } catch (err) {
        await rm(tmp, { force: true }).catch(() => undefined);
        if (!warned) {
          warned = true;
          options.warn?.(
            `could not store the query interpreter's description vectors in ${options.dir} (${(err as Error).message}); ` +
              'each search embeds them again (~0.6 s). Fix: make STATE_DIR writable, or set STATE_DIR to a writable folder.',
          );
        }
      }
    },
  };
}
