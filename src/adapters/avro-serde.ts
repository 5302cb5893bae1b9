import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { SchemaRegistryClient, type Client } from '@confluentinc/schemaregistry/dist/schemaregistry-client.js';
import { SchemaId } from '@confluentinc/schemaregistry/dist/serde/serde.js';
import { AuraError } from '../errors.js';

/**
 * Avro serde over a Confluent-compatible registry.
 *
 * Wire format (Confluent, what producers in any language write):
 *   value := 0x00 schema_id:int32-BE avro_binary(body)
 * Keys are plain UTF-8 `user_id` strings (no framing).
 *
 * Writing: the local `.avsc` is registered (or looked up) under its subject and the body is encoded
 * with exactly that schema. The client's AvroSerializer is not used for this: it cannot be handed a
 * schema (it infers one or takes the subject's latest — docs/ARCHITECTURE.md §8).
 * Reading: the writer schema is fetched by id (cached), and the body is *resolved* into the local
 * reader schema of that record type (Avro schema resolution: added fields take their defaults,
 * unknown enum symbols take the enum default) — so old and new readers both read new and old data.
 *
 * Subjects: topics of several record types (user events; aggregated: snapshots and erasure
 * markers) use TopicRecordNameStrategy (`<topic>-<record full name>`), single-type topics
 * TopicNameStrategy (`<topic>-value`).
 */

/** The project's `schemas/` folder, found above this module (sources or the compiled `dist/`). */
function schemaDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 5; up++, dir = dirname(dir)) {
    const candidate = join(dir, 'schemas');
    if (existsSync(join(candidate, 'MoodCreated.avsc'))) return candidate;
  }
  throw new AuraError('CONFIG', `no schemas/ folder with MoodCreated.avsc above ${fileURLToPath(import.meta.url)}: run from a complete checkout`);
}

export interface LocalSchema {
  fullName: string;
  text: string;
  type: avro.Type;
}

/** Loads every `schemas/*.avsc` (or another folder), keyed by record full name. */
export function loadLocalSchemas(dir = schemaDir()): Map<string, LocalSchema> {
  const out = new Map<string, LocalSchema>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.avsc')).sort()) {
    const text = readFileSync(join(dir, file), 'utf8');
    out.set(...parseSchema(text));
  }
  return out;
}

export function parseSchema(text: string): [string, LocalSchema] {
  const type = avro.Type.forSchema(JSON.parse(text) as avro.Schema);
  const fullName = type.name;
  if (!fullName) throw new AuraError('CONFIG', `schema is not a named record: ${text.slice(0, 80)}`);
  return [fullName, { fullName, text: JSON.stringify(JSON.parse(text)), type }];
}

export function topicRecordSubject(topic: string, fullName: string): string {
  return `${topic}-${fullName}`;
}
export function topicSubject(topic: string): string {
  return `${topic}-value`;
}

/** Registry credentials: HTTP basic (`user:password`) or a static bearer token, at most one. */
export interface RegistryAuth {
  basicAuth?: string | undefined;
  bearerToken?: string | undefined;
}

/** The registry credentials of a configuration. */
export function registryAuth(config: { schemaRegistryBasicAuth?: string | undefined; schemaRegistryBearerToken?: string | undefined }): RegistryAuth {
  return { basicAuth: config.schemaRegistryBasicAuth, bearerToken: config.schemaRegistryBearerToken };
}

/**
 * A registry client. Basic auth goes through the client's USER_INFO source; a bearer token is a
 * plain `Authorization: Bearer` header (the client's own bearer support is Confluent Cloud's, with
 * logical cluster and identity pool headers a self-hosted registry does not want).
 */
export function createRegistryClient(url: string, auth: RegistryAuth = {}): Client {
  return new SchemaRegistryClient({
    baseURLs: [url],
    maxRetries: 2,
    retriesWaitMs: 200,
    retriesMaxWaitMs: 2000,
    createAxiosDefaults: { timeout: 10_000, ...(auth.bearerToken && { headers: { Authorization: `Bearer ${auth.bearerToken}` } }) },
    ...(auth.basicAuth && { basicAuthCredentials: { credentialsSource: 'USER_INFO' as const, userInfo: auth.basicAuth } }),
  });
}

interface RestLikeError {
  status?: number;
  message?: string;
  code?: string;
  response?: { status?: number };
}

/** Registry failures: 4xx (except 408/429) are answers; everything else is a transient fault. */
export function registryError(err: unknown, what: string): AuraError {
  const e = err as RestLikeError;
  const status = e.status ?? e.response?.status;
  const message = e.message ?? String(err);
  if (status === 401 || status === 403) {
    return new AuraError('AUTH', `${what}: the schema registry refused the credentials (HTTP ${status}). Fix: check SCHEMA_REGISTRY_BASIC_AUTH or SCHEMA_REGISTRY_BEARER_TOKEN (or their _FILE twins)`, { cause: err });
  }
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return new AuraError(status === 404 ? 'UNKNOWN_SCHEMA_ID' : 'CONFIG', `${what}: registry answered ${status}: ${message}`, { cause: err });
  }
  return new AuraError('REGISTRY_UNAVAILABLE', `${what}: schema registry unreachable or failing (${message})`, { cause: err });
}

export interface Decoded {
  fullName: string;
  schemaId: number;
  value: Record<string, unknown>;
}

export class AvroSerde {
  private readonly writerTypes = new Map<number, Promise<avro.Type>>();
  private readonly resolvers = new Map<number, avro.Resolver | 'same'>();
  private readonly subjectIds = new Map<string, number>();

  /**
   * `register: false` (REGISTER_SCHEMAS=false): `register` only looks the local schema up under its
   * subject, for principals the registry does not let register (`aura-stream topics apply` does).
   */
  constructor(
    readonly client: Client,
    readonly local: Map<string, LocalSchema> = loadLocalSchemas(),
    private readonly options: { register: boolean } = { register: true },
  ) {}

  schema(fullName: string): LocalSchema {
    const s = this.local.get(fullName);
    if (!s) throw new AuraError('CONFIG', `no local schema ${fullName} in schemas/`);
    return s;
  }

  /**
   * Registers the local schema under `subject` (idempotent: the same schema returns its id; an
   * incompatible one is refused with the registry's reason) and remembers the id for encoding.
   */
  async register(subject: string, fullName: string): Promise<number> {
    const s = this.schema(fullName);
    try {
      const schema = { schemaType: 'AVRO', schema: s.text };
      const id = this.options.register ? await this.client.register(subject, schema, false) : await this.client.getId(subject, schema, false);
      this.subjectIds.set(subject, id);
      return id;
    } catch (err) {
      if (!this.options.register && (err as RestLikeError).status === 404) {
        throw new AuraError('CONFIG', `${fullName} is not registered under subject ${subject} and REGISTER_SCHEMAS=false: register the schemas first with \`aura-stream topics apply\` (or \`schemas register\`) as a principal the registry lets register`, { cause: err });
      }
      const e = registryError(err, `${this.options.register ? 'registering' : 'looking up'} ${fullName} under subject ${subject}`);
      if (e.code === 'UNKNOWN_SCHEMA_ID') throw new AuraError('CONFIG', e.message, { cause: err });
      throw e;
    }
  }

  /** Is the local schema compatible with every registered version of `subject`? */
  async checkCompatible(subject: string, fullName: string): Promise<{ compatible: boolean; reason: string }> {
    const s = this.schema(fullName);
    const schema = { schemaType: 'AVRO', schema: s.text };
    try {
      // Version by version: the client's testSubjectCompatibility asks about `versions/latest` only,
      // which passes a schema that breaks an older version (and BACKWARD_TRANSITIVE registration then refuses it).
      const versions = await this.client.getAllVersions(subject);
      for (const version of versions) {
        if (!(await this.client.testCompatibility(subject, version, schema))) {
          return { compatible: false, reason: `the registry reports the schema incompatible with version ${version} of ${subject}` };
        }
      }
      return { compatible: true, reason: versions.length === 0 ? 'subject not registered yet' : 'compatible' };
    } catch (err) {
      const e = err as RestLikeError;
      const status = e.status ?? e.response?.status;
      if (status === 404) return { compatible: true, reason: 'subject not registered yet' };
      if (status === 409 || status === 422) return { compatible: false, reason: e.message ?? String(err) };
      throw registryError(err, `checking ${fullName} against subject ${subject}`);
    }
  }

  /** Encodes `value` (an Avro-shaped object) with the schema registered under `subject`. */
  encode(subject: string, fullName: string, value: unknown): Buffer {
    const id = this.subjectIds.get(subject);
    if (id === undefined) throw new AuraError('INTERNAL', `subject ${subject} not registered by this process; call register() at start`);
    const body = this.schema(fullName).type.toBuffer(value);
    return Buffer.concat([new SchemaId('AVRO', id).idToBytes(), body]);
  }

  /** Decodes a framed value, resolving into the local reader schema; poison → AuraError. */
  async decode(buf: Buffer | null): Promise<Decoded> {
    if (!buf || buf.length === 0) throw new AuraError('UNDECODABLE', 'empty value (tombstone) on a data topic');
    if (buf[0] !== 0) throw new AuraError('WRONG_MAGIC_BYTE', `magic byte is 0x${buf[0]!.toString(16).padStart(2, '0')}, expected 0x00 (Confluent wire format)`);
    if (buf.length < 5) throw new AuraError('UNDECODABLE', `value of ${buf.length} bytes is shorter than the 5-byte wire-format header`);
    const schemaId = buf.readInt32BE(1);
    const writer = await this.writerType(schemaId);
    const fullName = writer.name ?? '';
    const reader = this.local.get(fullName);
    if (!reader) throw new AuraError('UNKNOWN_RECORD_TYPE', `record type ${fullName || writer.typeName} (schema id ${schemaId}) is not one this stage reads`);
    let resolver = this.resolvers.get(schemaId);
    if (!resolver) {
      try {
        resolver = reader.type.equals(writer) ? 'same' : reader.type.createResolver(writer);
      } catch (err) {
        throw new AuraError('UNDECODABLE', `writer schema ${schemaId} of ${fullName} cannot be resolved into the reader schema: ${(err as Error).message}`, { cause: err });
      }
      this.resolvers.set(schemaId, resolver);
    }
    try {
      const body = buf.subarray(5);
      const value = resolver === 'same' ? reader.type.fromBuffer(body) : reader.type.fromBuffer(body, resolver);
      return { fullName, schemaId, value: value as Record<string, unknown> };
    } catch (err) {
      throw new AuraError('UNDECODABLE', `bytes do not decode as ${fullName} (schema id ${schemaId}): ${(err as Error).message}`, { cause: err });
    }
  }

  private writerType(id: number): Promise<avro.Type> {
    let p = this.writerTypes.get(id);
    if (!p) {
      p = (async () => {
        try {
          const info = await this.client.getBySubjectAndId('', id);
          return avro.Type.forSchema(JSON.parse(info.schema) as avro.Schema);
        } catch (err) {
          if (err instanceof SyntaxError) throw new AuraError('UNDECODABLE', `schema id ${id} is not an Avro schema`, { cause: err });
          const e = registryError(err, `looking up schema id ${id}`);
          if (e.code === 'UNKNOWN_SCHEMA_ID' || e.code === 'CONFIG') throw new AuraError('UNKNOWN_SCHEMA_ID', `schema id ${id} is not in the registry`, { cause: err });
          throw e;
        }
      })();
      this.writerTypes.set(id, p);
      // Only answers are cached: a transient failure must be retried later.
      p.catch((err: unknown) => {
        if (!(err instanceof AuraError) || err.retriable) this.writerTypes.delete(id);
      });
    }
    return p;
  }
}
