import { promisify } from 'node:util';
import { gzip, unzip } from 'node:zlib';
import kafkajs from 'kafkajs';

// kafkajs is CommonJS: Node's ESM loader only sees the names its static analysis finds.
const { CompressionCodecs, CompressionTypes } = kafkajs;

const gzipAsync = promisify(gzip);
const unzipAsync = promisify(unzip);
/** zlib's default output chunk (16 KiB): below it a larger chunk gains nothing. */
const MIN_CHUNK = 16 * 1024;
/** Largest output chunk asked for: a bound on what a corrupt size field can make zlib allocate up front. */
const MAX_CHUNK = 16 * 1024 * 1024;

/**
 * kafkajs' GZIP codec with one change: a record batch is inflated in one output chunk of its own
 * size (the gzip trailer's ISIZE field) instead of zlib's 16 KiB chunks, each of which is a round
 * trip between the thread pool and the event loop (a 1 MiB changelog batch took 64). Compression
 * is kafkajs' own (zlib's default level).
 */
export const gzipCodec = {
  async compress(encoder: { buffer: Buffer }): Promise<Buffer> {
    return gzipAsync(encoder.buffer);
  },
  async decompress(buffer: Buffer): Promise<Buffer> {
    // A gzip member (magic 1f 8b) ends with its uncompressed size mod 2^32; anything else gets zlib's default.
    const gzipped = buffer.length >= 18 && buffer[0] === 0x1f && buffer[1] === 0x8b;
    const size = gzipped ? buffer.readUInt32LE(buffer.length - 4) : 0;
    return unzipAsync(buffer, { chunkSize: Math.min(MAX_CHUNK, Math.max(MIN_CHUNK, size)) });
  },
};

/** Installs the codec for every kafkajs client of this process (kafkajs keeps codecs in one module-level table). */
export function installGzipCodec(): void {
  CompressionCodecs[CompressionTypes.GZIP] = () => gzipCodec;
}
