import { Kafka, logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import { installGzipCodec } from './gzip-codec.js';
import { kafkajsInternals } from './internals.js';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** Warnings kafkajs prints on every start that say nothing about this deployment. */
const QUIET = [
  'KafkaJS v2.0.0 switched default partitioner', // we use the Java-compatible default on purpose
  'Limiting retries for the idempotent producer', // a failed send surfaces and the batch is redelivered
];

/** A kafkajs client whose logs go through pino (kafkajs' info chatter is demoted to debug). */
export function createKafka(options: { brokers: string[]; clientId: string; logger: Logger } & Partial<KafkaConfig>): Kafka {
  const { logger, ...rest } = options;
  // kafkajs' own GZIP codec stays when its codec table does not look as expected (internals.ts).
  if (kafkajsInternals().gzipCodec.length === 0) installGzipCodec();
  const log = logger.child({ component: 'kafkajs' });
  return new Kafka({
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5000 },
    ...rest,
    logLevel: logLevel.INFO,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...fields } = entry;
        const known = typeof message === 'string' && QUIET.some((q) => message.startsWith(q));
        const target = level === logLevel.INFO || known ? 'debug' : (LEVELS[level] ?? 'debug');
        log[target](fields, message);
      },
  });
}

/** The connection settings of a validated configuration: brokers, TLS (CA, client cert and key) and SASL. */
export function kafkaConnection(
  config: Pick<Config, 'kafkaBrokers' | 'kafkaSecurityProtocol' | 'kafkaSaslMechanism' | 'kafkaSaslUsername' | 'kafkaSaslPassword' | 'kafkaSslCa' | 'kafkaSslCert' | 'kafkaSslKey'>,
): Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'> & { brokers: string[] } {
  const tls = config.kafkaSecurityProtocol === 'SSL' || config.kafkaSecurityProtocol === 'SASL_SSL';
  const ssl = tls
    ? {
        // without a CA the system's trusted CAs apply (a public CA, or NODE_EXTRA_CA_CERTS)
        ...(config.kafkaSslCa && { ca: [config.kafkaSslCa] }),
        ...(config.kafkaSslCert && { cert: config.kafkaSslCert }),
        ...(config.kafkaSslKey && { key: config.kafkaSslKey }),
      }
    : undefined;
  const { kafkaSaslMechanism: mechanism, kafkaSaslUsername: username, kafkaSaslPassword: password } = config;
  const sasl: SASLOptions | undefined = mechanism && username && password ? ({ mechanism, username, password } as SASLOptions) : undefined;
  return { brokers: config.kafkaBrokers, ...(ssl && { ssl: Object.keys(ssl).length > 0 ? ssl : true }), ...(sasl && { sasl }) };
}
