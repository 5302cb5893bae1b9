import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuraError } from '../errors.js';
import type { StackPaths } from './options.js';

export type ServerName = 'kafka' | 'registry';

/**
 * Pid file `<dir>/run/<name>.json`, written right after the spawn:
 *   { "name": "kafka", "pid": 1234, "argv": ["/usr/bin/java", "-Xmx512m", …], "cwd": "…",
 *     "ports": [19092, 19093], "log": "…/logs/kafka.log", "startedAt": "2026-01-01T00:00:00.000Z" }
 * `argv` is what `/proc/<pid>/cmdline` must still say for the process to count as ours.
 */
export interface PidRecord {
  readonly name: ServerName;
  readonly pid: number;
  readonly argv: readonly string[];
  readonly cwd: string;
  /** the ports it was configured to listen on */
  readonly ports: readonly number[];
  readonly log: string;
  readonly startedAt: string;
}

export const pidFile = (paths: StackPaths, name: ServerName): string => join(paths.run, `${name}.json`);
export const logFile = (paths: StackPaths, name: ServerName): string => join(paths.logs, `${name}.log`);

export function readPidRecord(paths: StackPaths, name: ServerName): PidRecord | undefined {
  try {
    const rec = JSON.parse(readFileSync(pidFile(paths, name), 'utf8')) as PidRecord;
    return Number.isInteger(rec.pid) && rec.pid > 0 && Array.isArray(rec.argv) ? rec : undefined;
  } catch {
    return undefined;
  }
}

export function removePidRecord(paths: StackPaths, name: ServerName): void {
  rmSync(pidFile(paths, name), { force: true });
}

/** The argv of a live process; undefined when it is gone (or a zombie, whose cmdline is empty). */
export function commandLine(pid: number): string[] | undefined {
  if (existsSync('/proc/self/cmdline')) {
    try {
      const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (raw.length === 0) return undefined;
      return raw.replace(/\0$/, '').split('\0');
    } catch {
      return undefined;
    }
  }
  // no /proc (macOS): `ps` gives the command line joined by spaces only
  const r = spawnSync('ps', ['-p', String(pid), '-o', 'args='], { encoding: 'utf8' });
  const line = r.status === 0 ? r.stdout.trim() : '';
  return line ? [line] : undefined;
}

/** True when the recorded pid is alive and still runs the command line we started. */
export function isOurs(rec: PidRecord): boolean {
  const now = commandLine(rec.pid);
  if (!now) return false;
  if (now.length === 1 && rec.argv.length > 1) return now[0] === rec.argv.join(' ');
  return now.length === rec.argv.length && now.every((arg, i) => arg === rec.argv[i]);
}

/**
 * Starts a server that outlives this process: its own session (detached), stdin closed, stdout and
 * stderr appended to `log` (the previous log is kept as `<log>.1`). Writes the pid file.
 */
export function startDetached(paths: StackPaths, name: ServerName, argv: readonly string[], cwd: string, ports: readonly number[], env: NodeJS.ProcessEnv): PidRecord {
  const [bin, ...args] = argv;
  if (!bin) throw new AuraError('INTERNAL', `empty command line for ${name}`);
  mkdirSync(paths.logs, { recursive: true });
  mkdirSync(paths.run, { recursive: true });
  const log = logFile(paths, name);
  if (existsSync(log) && statSync(log).size > 0) renameSync(log, `${log}.1`);
  const fd = openSync(log, 'a');
  try {
    writeSync(fd, `# ${new Date().toISOString()} aura-stream stack: ${argv.join(' ')}\n`);
    const child = spawn(bin, args, { cwd, env, detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw new AuraError('STACK', `could not start ${name} (${bin}); see ${log}`);
    child.unref();
    const rec: PidRecord = { name, pid: child.pid, argv, cwd, ports, log, startedAt: new Date().toISOString() };
    writeFileSync(pidFile(paths, name), `${JSON.stringify(rec, null, 2)}\n`);
    return rec;
  } finally {
    closeSync(fd);
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. Only for a record `isOurs` accepted. */
export async function stopProcess(rec: PidRecord, graceMs: number): Promise<'stopped' | 'killed'> {
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(rec.pid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isOurs(rec)) return 'stopped';
    await sleep(200);
  }
  if (isOurs(rec)) signal('SIGKILL');
  for (let i = 0; i < 50 && isOurs(rec); i++) await sleep(100);
  return 'killed';
}

/** Runs a command to completion with stdout and stderr written to `log`; resolves with its exit code. */
export function runToLog(cmd: string, args: readonly string[], log: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<number> {
  const fd = openSync(log, 'w');
  return new Promise<number>((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', fd, fd] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      closeSync(fd);
      reject(err);
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      closeSync(fd);
      resolve(code ?? (sig ? 128 : 1));
    });
  });
}

/**
 * Last `lines` lines of a text file ('' when it does not exist), without Java stack frames
 * (`\tat …`, `… 14 more`), which would otherwise crowd the exception messages out of an error.
 */
export function tailFile(path: string, lines: number): string {
  try {
    const text = readFileSync(path, 'utf8');
    return text
      .split('\n')
      .filter((l) => l.length > 0 && !/^\s+at \S|^\s*\.\.\. \d+ more/.test(l))
      .slice(-lines)
      .join('\n');
  } catch {
    return '';
  }
}

/** True when nothing listens on host:port (we could bind it ourselves). */
export function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * An exclusive lock on the cache folder for the length of an `up` or `down`, so two of them never
 * start a server twice. `run/stack.lock` holds the owner's pid; a lock whose owner is gone is taken over.
 */
export async function withLock<T>(paths: StackPaths, timeoutMs: number, body: () => Promise<T>): Promise<T> {
  mkdirSync(paths.run, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(paths.lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(paths.lock, 'utf8').trim());
      if (!Number.isInteger(owner) || owner <= 0 || !commandLine(owner)) {
        rmSync(paths.lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new AuraError('STACK', `another \`stack up|down\` (pid ${owner}) holds ${paths.lock}; wait for it or remove the file if that process is not aura-stream`);
      }
      await sleep(250);
    }
  }
  try {
    return await body();
  } finally {
    rmSync(paths.lock, { force: true });
  }
}
