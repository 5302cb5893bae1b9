import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../support/stack-env.js';

// `aura-stream … | head -3`: the reader closes the pipe before the command has printed everything.
// The command must end quietly with status 0, not crash on EPIPE.

/** Runs the CLI with stdout piped into a reader that takes `keep` bytes and then closes its end. */
function runIntoClosingReader(args: string[], keep: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; read: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'aura-stream.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, AURA_FROM_SOURCE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let read = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    if (keep === 0) child.stdout.destroy();
    else
      child.stdout.on('data', (d: Buffer) => {
        read += d.toString();
        if (read.length >= keep) child.stdout.destroy(); // like head: enough read, close the pipe
      });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr, read }));
  });
}

describe('a closed stdout ends the command quietly', { timeout: 120_000 }, () => {
  for (const [args, keep] of [
    [['config'], 0],
    [['config'], 200],
    [['describe'], 0],
  ] as Array<[string[], number]>) {
    it(`aura-stream ${args.join(' ')} into a reader that closes after ${keep} bytes exits 0 without an error`, async () => {
      const r = await runIntoClosingReader(args, keep);
      assert.equal(r.signal, null, `killed by ${r.signal}`);
      assert.equal(r.code, 0, `exit status; stderr:\n${r.stderr}`);
      assert.doesNotMatch(r.stderr, /EPIPE|Error|at .*\.ts:\d+/, 'no error or stack trace on stderr');
      if (keep > 0) assert.match(r.read, /KAFKA_BROKERS|EMBEDDING_MODEL/, 'the reader got the start of the output');
    });
  }

  it('the same command with an open stdout prints everything (the test can tell the difference)', async () => {
    const r = await runIntoClosingReader(['config'], Number.MAX_SAFE_INTEGER);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.read, /EMBEDDING_MODELS_DIR/);
  });
});
