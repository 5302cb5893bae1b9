// Child process of test/cli/failpoints.test.ts (not a test file): wraps a small port with
// withFailpoints under the AURA_FAILPOINT it was started with, calls it, and prints each step to
// stdout, so the parent sees how far it got before SIGKILL (or that it ran to the end).
import { writeSync } from 'node:fs';
import { withFailpoints } from '../../src/cli/failpoints.js';

const say = (line: string) => writeSync(1, `${line}\n`);

class Port {
  #writes = 0;
  readonly kind = 'fake';
  async write(n: number): Promise<number> {
    await new Promise((r) => setTimeout(r, 5));
    this.#writes += n;
    say(`write body ${n}`);
    return this.#writes;
  }
  apply(n: number): number {
    say(`apply body ${n}`);
    return n * 2;
  }
  get writes(): number {
    return this.#writes;
  }
}

const raw = new Port();
const port = withFailpoints(raw, 'stage', { write: 'write', apply: 'apply', deleteUser: 'delete' });
say(`wrapped ${port === raw ? 'same' : 'proxy'}`);
say(`returned write ${await port.write(1)}`);
say(`returned apply ${port.apply(2)}`);
say(`returned write ${await port.write(3)}`);
say(`kind ${port.kind} writes ${port.writes}`);
say('end');
