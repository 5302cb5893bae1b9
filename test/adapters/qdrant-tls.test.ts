import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { QdrantSink } from '../../src/adapters/qdrant-sink.js';
import { STORE_TIMEOUT_MS } from '../support/compiled-options.js';
import { AuraError } from '../../src/errors.js';
import { startQdrantEngine, type QdrantEngine } from '../support/qdrant-engine.js';
import { DIM, point, unit } from '../support/sink-points.js';
import { makeTestCerts, type TestCerts } from '../support/test-certs.js';

/** Qdrant over HTTPS with a private CA (QDRANT_CA): the engine's validating front serves a certificate made at test time. */
describe('QdrantSink over TLS with a custom CA', () => {
  let dir: string;
  let certs: TestCerts;
  let secure: QdrantEngine;
  let plain: QdrantEngine;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aura-qdrant-tls-'));
    certs = makeTestCerts(dir);
    secure = await startQdrantEngine({ tls: { cert: certs.serverCert, key: certs.serverKey } });
    plain = await startQdrantEngine();
  });

  after(async () => {
    await secure?.close();
    await plain?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes and reads through https when QDRANT_CA names the CA that signed the server certificate', async () => {
    assert.match(secure.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const sink = new QdrantSink({ url: secure.url, collection: 'tls', ca: certs.ca, timeoutMs: 5000 });
    await sink.ensureCollection(DIM);
    await sink.upsert([point('u1', '2025-03-01', unit(1, 0, 0, 0)), point('u2', '2025-03-01', unit(0, 1, 0, 0))]);
    assert.equal(await sink.count(), 2);
    const [hit] = await sink.search(unit(0, 1, 0, 0), { limit: 1 });
    assert.equal(hit?.payload.user_id, 'u2');
    const counted = (await (await fetch(`${secure.engineUrl}/collections/tls/points/count`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"exact":true}' })).json()) as { result: { count: number } };
    assert.equal(counted.result.count, 2, 'the engine (behind the TLS front) holds the points');
    await sink.close();
  });

  it('refuses a server whose certificate is not signed by the configured CA (or none is configured), as AUTH naming QDRANT_CA, not retried', async () => {
    // fresh origins: a CA is trusted per origin for the life of the process
    for (const ca of [undefined, certs.otherCa]) {
      const other = await startQdrantEngine({ tls: { cert: certs.serverCert, key: certs.serverKey } });
      try {
        const sink = new QdrantSink({ url: other.url, collection: 'tls', timeoutMs: 5000, ...(ca && { ca }) });
        await assert.rejects(sink.count(), (err: unknown) => {
          assert.ok(err instanceof AuraError, String(err));
          assert.equal(err.code, 'AUTH', err.message);
          assert.equal(err.retriable, false);
          assert.match(err.message, /TLS certificate is not trusted \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\).*QDRANT_CA/);
          return true;
        });
        await sink.close();
        assert.equal(other.requests.length, 0, 'no request got through the TLS handshake');
      } finally {
        await other.close();
      }
    }
  });

  it('leaves plain http Qdrant and other origins untouched', async () => {
    const sink = new QdrantSink({ url: plain.url, collection: 'plain', timeoutMs: 5000 });
    await sink.ensureCollection(DIM);
    assert.equal(await sink.count(), 0);
    await sink.close();
    assert.throws(() => new QdrantSink({ url: plain.url, collection: 'plain', ca: certs.ca, timeoutMs: STORE_TIMEOUT_MS }), (e: unknown) => e instanceof AuraError && e.code === 'CONFIG' && /QDRANT_CA/.test(e.message));
  });
});
