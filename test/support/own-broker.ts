// A throwaway one-node Kafka for tests that must not touch the shared local stack: its own ports,
// config and data folder, started from the jars `aura-stream stack up` fetched (AURA_STACK_DIR),
// with the stack's own server.properties builder (src/stack/kafka.ts). Optionally a SASL_SSL
// listener (PEM keystore/truststore, client certificates required, PLAIN + SCRAM users, ACLs).
// A child of the test process: `stop`/`restart` for chaos, `close` removes everything. Not a test file.
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KAFKA_LOG4J2, brokerProperties, kafkaJvmArgs, probeKafka, warmUpKafka, type BrokerListener } from '../../src/stack/kafka.js';
import { compileStackOptions, stackPaths } from '../../src/stack/options.js';
import { selectJava } from '../../src/stack/prerequisites.js';
import { runToLog, tailFile } from '../../src/stack/process.js';
import type { TestCerts } from './test-certs.js';

export interface SecureListenerOptions {
  certs: TestCerts;
  /** SCRAM credentials written at format time (`kafka-storage format --add-scram`). */
  scramUsers: Array<{ mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; name: string; password: string }>;
  /** PLAIN users (name → password), from the listener's JAAS config. */
  plainUsers: Record<string, string>;
  /** Turn on the StandardAuthorizer; the plaintext INTERNAL listener (User:ANONYMOUS) and these principals are super users. */
  authorizer?: { superUsers: string[] };
}

export interface OwnBrokerOptions {
  secure?: SecureListenerOptions;
  /** Extra server.properties lines. */
  extra?: Record<string, string>;
}

export interface OwnBroker {
  /** host:port of the PLAINTEXT listener (no auth; the test harness's own view). */
  readonly internal: string;
  /** host:port of the SASL_SSL listener, when asked for. */
  readonly secure: string | undefined;
  readonly dir: string;
  readonly log: string;
  /** SIGTERM (default, controlled shutdown) or SIGKILL; resolves once the JVM is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same ports and data; resolves when it answers. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => ok(port));
    });
  });
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Formats a fresh data folder and starts the broker; resolves when it answers and its internal topics have leaders. */
export async function startOwnBroker(options: OwnBrokerOptions = {}): Promise<OwnBroker> {
  const stack = stackPaths(compileStackOptions().dir);
  if (!existsSync(stack.kafkaLibs)) {
    throw new Error(`no Kafka jars in ${stack.kafkaLibs}: run \`aura-stream stack up\` once (it fetches them), or set AURA_STACK_DIR to the stack's cache`);
  }
  const java = selectJava(process.env.AURA_STACK_JAVA_HOME || undefined, process.env).kafka;
  const dir = mkdtempSync(join(tmpdir(), 'aura-own-broker-'));
  const paths = { kafkaLibs: stack.kafkaLibs, kafkaLog4j: join(dir, 'log4j2.properties') };
  const config = join(dir, 'server.properties');
  const log = join(dir, 'kafka.log');
  const [internalPort, controllerPort, securePort] = [await freePort(), await freePort(), await freePort()];
  const listeners: BrokerListener[] = [{ name: 'INTERNAL', port: internalPort, protocol: 'PLAINTEXT' }];
  // Keep every record: test workloads carry CreateTimes up to 10 days old, and the first retention
  // check after a (re)start (30 s in) would otherwise delete whole segments of them mid-test
  // (seen in the chaos run: the input topic lost the records produced before its broker restart).
  const extra: Record<string, string> = { 'log.retention.ms': '-1', ...options.extra };
  const secure = options.secure;
  if (secure) {
    listeners.push({ name: 'SECURE', port: securePort, protocol: 'SASL_SSL' });
    const keystore = join(dir, 'server-keystore.pem');
    writeFileSync(keystore, `${secure.certs.serverKey.trim()}\n${secure.certs.serverCert.trim()}\n`);
    const plain = Object.entries(secure.plainUsers).map(([u, p]) => `user_${u}="${p}"`).join(' ');
    Object.assign(extra, {
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
      'listener.name.secure.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required ${plain};`,
      'listener.name.secure.scram-sha-256.sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'listener.name.secure.scram-sha-512.sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'listener.name.secure.ssl.keystore.type': 'PEM',
      'listener.name.secure.ssl.keystore.location': keystore,
      'listener.name.secure.ssl.truststore.type': 'PEM',
      'listener.name.secure.ssl.truststore.location': secure.certs.files.ca,
      'listener.name.secure.ssl.client.auth': 'required',
    });
    if (secure.authorizer) {
      Object.assign(extra, {
        'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
        'super.users': ['User:ANONYMOUS', ...secure.authorizer.superUsers].join(';'),
        'allow.everyone.if.no.acl.found': 'false',
      });
    }
  }
  writeFileSync(config, brokerProperties({ controllerPort, listeners, dataDir: join(dir, 'data'), extra }));
  writeFileSync(paths.kafkaLog4j, KAFKA_LOG4J2);
  const clusterId = randomBytes(16).toString('base64url');
  const scram = (secure?.scramUsers ?? []).flatMap((u) => ['--add-scram', `${u.mechanism}=[name=${u.name},password=${u.password}]`]);
  const formatLog = join(dir, 'format.log');
  const code = await runToLog(java.bin, [...kafkaJvmArgs(paths), 'kafka.tools.StorageTool', 'format', '--cluster-id', clusterId, '--config', config, ...scram], formatLog, process.env, 120_000);
  if (code !== 0) throw new Error(`formatting the test broker's storage failed (exit ${code}):\n${tailFile(formatLog, 20)}`);

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const start = async () => {
    mkdirSync(dir, { recursive: true });
    const fd = openSync(log, 'a');
    const c = spawn(java.bin, [...kafkaJvmArgs(paths), 'kafka.Kafka', config], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child = c;
    live.add(c);
    exited = new Promise<void>((ok) => c.once('exit', () => (live.delete(c), ok())));
    const deadline = Date.now() + 180_000;
    for (;;) {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`the test broker exited before it answered:\n${tailFile(log, 30)}`);
      if ((await probeKafka(internalPort, 3000)).ok) break;
      if (Date.now() > deadline) throw new Error(`the test broker did not answer within 180 s:\n${tailFile(log, 30)}`);
      await sleep(500);
    }
    // a fresh or restarted broker loads its group and transaction coordinators lazily; on a busy
    // machine that outlasts kafkajs' retries (NOT_COORDINATOR): warm up again until it answers
    for (;;) {
      try {
        await warmUpKafka(internalPort, 120_000);
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(1000);
      }
    }
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    c.kill(signal);
    const timer = setTimeout(() => c.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await start();
  } catch (err) {
    await stop('SIGKILL');
    throw err;
  }
  return {
    internal: `127.0.0.1:${internalPort}`,
    secure: secure ? `127.0.0.1:${securePort}` : undefined,
    dir,
    log,
    stop,
    start,
    async close() {
      await stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
