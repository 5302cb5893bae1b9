import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { AuraError } from '../errors.js';

/*
 * Just enough of the ZIP format (APPNOTE 6.3) to take named files out of a jar:
 *   end of central directory  = sig 0x06054b50 … u16 entries @10, u32 cd size @12, u32 cd offset @16
 *   central directory entry   = sig 0x02014b50 … u16 method @10, u32 compressed @20,
 *                               u32 size @24, u16 name len @28, u16 extra len @30,
 *                               u16 comment len @32, u32 local header offset @42, name @46
 *   local file header         = sig 0x04034b50 … u16 name len @26, u16 extra len @28, data @30+name+extra
 * Methods: 0 stored, 8 deflate. No ZIP64, no encryption (a jar of two 20 MB files needs neither).
 */

const EOCD = 0x06054b50;
const CEN = 0x02014b50;
const LOC = 0x04034b50;

export function readZipEntries(path: string, wanted: readonly string[]): Map<string, Buffer> {
  const zip = readFileSync(path);
  const fail = (why: string): never => {
    throw new AuraError('STACK', `${path} is not a readable jar (${why}); delete it and run \`stack up\` again to fetch it anew`);
  };
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail('no end of central directory');
  const entries = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const out = new Map<string, Buffer>();
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(at) !== CEN) fail(`bad central directory entry ${n}`);
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLen = zip.readUInt16LE(at + 28);
    const extraLen = zip.readUInt16LE(at + 30);
    const commentLen = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLen);
    at += 46 + nameLen + extraLen + commentLen;
    if (!wanted.includes(name)) continue;
    if (zip.readUInt32LE(local) !== LOC) fail(`bad local header of ${name}`);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(start, start + compressed);
    const data = method === 0 ? Buffer.from(raw) : method === 8 ? inflateRawSync(raw) : fail(`unsupported method ${method} for ${name}`);
    if (data.length !== size) fail(`${name} inflated to ${data.length} bytes, expected ${size}`);
    out.set(name, data);
  }
  for (const name of wanted) if (!out.has(name)) fail(`no entry ${name}`);
  return out;
}
