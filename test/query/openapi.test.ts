import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { loadConfig } from '../../src/config.js';
import { AuraError } from '../../src/errors.js';
import { CONTEXT_QUERY_SCHEMA, OPS_BY_TYPE, QUERY_FIELDS, serveOpenApi } from '../../src/query/index.js';
import { ROOT } from '../support/stack-env.js';

describe('serve: its OpenAPI document and its tokens', () => {
  it('keeps docs/openapi/serve.json equal to the document serve answers (regenerate: aura-stream serve --print-openapi > docs/openapi/serve.json)', () => {
    const committed = JSON.parse(readFileSync(join(ROOT, 'docs/openapi/serve.json'), 'utf8')) as unknown;
    assert.deepEqual(committed, serveOpenApi());
  });

  it('is a document ajv compiles, whose request body is the query schema itself', () => {
    const doc = serveOpenApi() as { components: { schemas: Record<string, unknown> }; paths: Record<string, Record<string, { requestBody?: unknown }>> };
    assert.equal(doc.components.schemas['ContextQuery'], CONTEXT_QUERY_SCHEMA, 'one schema, reused');
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ ...doc, $id: 'serve' });
    for (const name of Object.keys(doc.components.schemas)) assert.ok(ajv.getSchema(`serve#/components/schemas/${name}`), `${name} compiles`);
    assert.ok(doc.paths['/v1/search']?.['post']?.requestBody);
  });

  it('documents every query field in docs/search.md with its type and operators', () => {
    const doc = readFileSync(join(ROOT, 'docs/search.md'), 'utf8');
    for (const [name, f] of Object.entries(QUERY_FIELDS)) {
      const ops = OPS_BY_TYPE[f.type].join(', ');
      assert.ok(doc.includes(`| \`${name}\` | ${f.type} | `) && doc.includes(`| ${ops}`), `docs/search.md has a row for ${name} (${f.type}, ${ops})`);
    }
  });

  it('reads SEARCH_TOKENS rows bound to one user or to all, and refuses malformed rows without echoing them', () => {
    const config = loadConfig({ SEARCH_TOKENS: 'abcdefghijklmnop0:*,\nqrstuvwxyz0123456:user-0007' });
    assert.deepEqual(config.searchTokens, [
      { token: 'abcdefghijklmnop0', user: '*' },
      { token: 'qrstuvwxyz0123456', user: 'user-0007' },
    ]);
    assert.deepEqual(loadConfig({}).searchTokens, [], 'none by default');
    for (const bad of ['short:*', 'abcdefghijklmnop0', 'abcdefghijklmnop0:', 'abcdefghijklmnop0:*,abcdefghijklmnop0:u']) {
      assert.throws(
        () => loadConfig({ SEARCH_TOKENS: bad }),
        (err: unknown) => err instanceof AuraError && err.code === 'CONFIG' && /SEARCH_TOKENS/.test(err.message) && /value not shown/.test(err.message) && !err.message.includes('abcdefghijklmnop0'),
        bad,
      );
    }
  });
});
