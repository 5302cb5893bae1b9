// deploy/Dockerfile read with BuildKit's own parser (PyPI `dockerfile`, in the tools venv). Not a
// test file.
import { join } from 'node:path';
import { ROOT } from './stack-env.js';
import { run, venvPython } from './tools.js';

export const DOCKERFILE = join(ROOT, 'deploy', 'Dockerfile');

export interface Instruction {
  cmd: string;
  flags: string[];
  value: string[];
  json: boolean;
  original: string;
}

function parseAll(path: string): Instruction[] {
  const script = 'import dockerfile, json, sys\nprint(json.dumps([{"cmd": c.cmd, "flags": list(c.flags), "value": list(c.value), "json": c.json, "original": c.original} for c in dockerfile.parse_file(sys.argv[1])]))';
  const r = run(venvPython(), ['-c', script, path]);
  if (r.status !== 0) throw new Error(`BuildKit's parser rejects ${path}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Instruction[];
}

/** The ARGs before the first FROM (the base images), name → default value. */
export function globalArgs(path = DOCKERFILE): Record<string, string> {
  const out: Record<string, string> = {};
  for (const i of parseAll(path)) {
    if (i.cmd === 'FROM') break;
    if (i.cmd !== 'ARG') continue;
    const [name, ...value] = i.value[0]!.split('=');
    out[name!] = value.join('=');
  }
  return out;
}

/** The instructions of each stage (split at FROM), after ARG substitution is left to the engine. */
export function parseDockerfile(path = DOCKERFILE): Instruction[][] {
  const stages: Instruction[][] = [];
  for (const i of parseAll(path)) {
    if (i.cmd === 'FROM') stages.push([]);
    if (stages.length === 0) continue; // global ARGs before the first FROM
    stages[stages.length - 1]!.push(i);
  }
  return stages;
}

/** The HEALTHCHECK's command of the final stage, as argv. */
export function healthcheckArgv(path = DOCKERFILE): string[] {
  const final = parseDockerfile(path).at(-1)!;
  const hc = final.find((i) => i.cmd === 'HEALTHCHECK');
  if (!hc || hc.value[0] !== 'CMD' || !hc.json) throw new Error('the final stage has no exec-form HEALTHCHECK CMD');
  return hc.value.slice(1);
}
