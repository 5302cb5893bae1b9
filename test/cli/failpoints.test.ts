import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FAILPOINT_ENV, parseFailpoints, withFailpoints } from '../../src/cli/failpoints.js';
import { AuraError } from '../../src/errors.js';
import { ROOT } from '../support/stack-env.js';

const CHILD = join(ROOT, 'test', 'support', 'failpoint-child.ts');

/** Runs the child with `failpoint` armed (or none); its stdout lines, exit code and signal. */
function child(failpoint: string | undefined): { lines: string[]; code: number | null; signal: NodeJS.Signals | null; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env[FAILPOINT_ENV];
  if (failpoint !== undefined) env[FAILPOINT_ENV] = failpoint;
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
  return { lines: r.stdout.split('\n').filter((l) => l !== ''), code: r.status, signal: r.signal, stderr: r.stderr };
}

const FULL_RUN = ['wrapped same', 'write body 1', 'returned write 1', 'apply body 2', 'returned apply 4', 'write body 3', 'returned write 4', 'kind fake writes 4', 'end'];

describe('failpoints: the process dies with SIGKILL exactly at the armed point (a real child process)', { timeout: 120_000 }, () => {
  it('never fires when AURA_FAILPOINT is unset, and then the port is returned unwrapped', () => {
    const r = child(undefined);
    assert.deepEqual([r.code, r.signal], [0, null], `ran to the end (stderr: ${r.stderr})`);
    assert.deepEqual(r.lines, FULL_RUN, 'every call ran and returned');
  });

  it('never fires for points of another stage, another method or a method the port lacks', () => {
    const r = child('other.write:before, stage.send:after,stage.delete:after');
    assert.deepEqual([r.code, r.signal], [0, null], `ran to the end (stderr: ${r.stderr})`);
    assert.deepEqual(r.lines, FULL_RUN, 'unarmed points change nothing, not even the wrapping');
  });

  it(':before dies before the first call runs', () => {
    const r = child('stage.write:before');
    assert.equal(r.signal, 'SIGKILL', `killed by SIGKILL (code ${r.code}, stderr: ${r.stderr})`);
    assert.deepEqual(r.lines, ['wrapped proxy'], 'the write body never ran');
    assert.match(r.stderr, /failpoint stage\.write:before: killing this process with SIGKILL/, 'says which failpoint fired');
  });

  it(':after on an async method dies once the call resolved, before the caller continues', () => {
    const r = child('stage.write:after');
    assert.equal(r.signal, 'SIGKILL', `killed by SIGKILL (stderr: ${r.stderr})`);
    assert.deepEqual(r.lines, ['wrapped proxy', 'write body 1'], 'the write ran, its result never reached the caller');
  });

  it(':after on a sync method dies once it returned; earlier calls and other members work through the proxy', () => {
    const r = child('stage.apply:after');
    assert.equal(r.signal, 'SIGKILL', `killed by SIGKILL (stderr: ${r.stderr})`);
    assert.deepEqual(r.lines, ['wrapped proxy', 'write body 1', 'returned write 1', 'apply body 2'], 'an unarmed method (with a private field) ran normally, the armed one ran and never returned');
  });

  it('takes a comma-separated list: the first armed call reached fires', () => {
    const r = child('stage.apply:before,stage.write:after');
    assert.equal(r.signal, 'SIGKILL');
    assert.deepEqual(r.lines, ['wrapped proxy', 'write body 1'], 'write:after comes first in the run');
  });
});

describe('failpoints: names', () => {
  it('parses a list and refuses a malformed name with the expected form', () => {
    assert.deepEqual([...parseFailpoints(' aggregate.write:after , vectorize.delete:before ')], ['aggregate.write:after', 'vectorize.delete:before']);
    assert.equal(parseFailpoints(undefined).size, 0);
    assert.equal(parseFailpoints('').size, 0);
    for (const bad of ['aggregate.write', 'write:after', 'aggregate.write:during', 'Aggregate.write:after']) {
      assert.throws(() => parseFailpoints(bad), (e: unknown) => e instanceof AuraError && e.code === 'CONFIG' && /expected <stage>\.<point>:before or :after/.test(e.message), `"${bad}" is refused`);
    }
  });

  it('wraps only when a point of the port is armed', () => {
    const port = { write: async () => 1 };
    assert.equal(withFailpoints(port, 'aggregate', ['write'], {}), port, 'unset: the port itself');
    assert.equal(withFailpoints(port, 'aggregate', ['write'], { [FAILPOINT_ENV]: 'vectorize.write:after' }), port, 'another stage armed: the port itself');
    assert.notEqual(withFailpoints(port, 'aggregate', ['write'], { [FAILPOINT_ENV]: 'aggregate.write:after' }), port, 'armed: a wrapper');
  });
});
