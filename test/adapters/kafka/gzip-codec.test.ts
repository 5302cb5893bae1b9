import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { deflateSync, gunzipSync, gzipSync } from 'node:zlib';
import { gzipCodec } from '../../../src/adapters/kafka/gzip-codec.js';

test('a batch compressed by the codec inflates to the same bytes, through the codec and through plain gunzip', async () => {
  for (const size of [0, 10, 16 * 1024, 1_048_576 + 7]) {
    const plain = Buffer.concat([randomBytes(Math.floor(size / 2)), Buffer.alloc(size - Math.floor(size / 2), 'a')]);
    const packed = await gzipCodec.compress({ buffer: plain });
    assert.deepEqual(gunzipSync(packed), plain, `${size} bytes: standard gzip`);
    assert.deepEqual(await gzipCodec.decompress(packed), plain, `${size} bytes: round trip`);
  }
});

test('a batch whose size field lies is refused, as zlib refuses it; data without a gzip size field inflates in default chunks', async () => {
  const plain = Buffer.alloc(300_000, 'x');
  const packed = gzipSync(plain);
  const understated = Buffer.from(packed);
  understated.writeUInt32LE(100, understated.length - 4);
  await assert.rejects(gzipCodec.decompress(understated), 'a gzip member whose size field disagrees is corrupt (zlib checks ISIZE)');
  assert.deepEqual(await gzipCodec.decompress(deflateSync(plain)), plain, 'zlib-wrapped data (no gzip size field) inflates with the default chunk');
});
