import assert from 'node:assert/strict';
import { test } from 'node:test';
import { v5 as uuidv5 } from 'uuid';
import { POINT_NAMESPACE, SNAPSHOT_NAMESPACE, pointId, snapshotId } from '../../src/contracts/ids.js';

test('snapshot and point ids are the RFC 9562 UUIDv5 of their names, as the uuid package computes them', () => {
  const users = ['u-1', 'user-ü-日本', '', 'a/b'];
  const events = ['e-1', '00000000-0000-4000-8000-000000000000', 'ä'];
  for (const user of users) {
    for (const event of events) assert.equal(snapshotId(user, event), uuidv5(`${user}/${event}`, SNAPSHOT_NAMESPACE), `snapshot id of ${user}/${event}`);
    const at = Date.UTC(2026, 11, 1, 23, 59);
    assert.equal(pointId(user, at), uuidv5(`${user}/2026-12-01`, POINT_NAMESPACE), `point id of ${user} on 2026-12-01`);
  }
});

test('snapshot ids carry version 5 and the RFC variant', () => {
  assert.match(snapshotId('u', 'e'), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'version nibble 5, variant 10xx');
});
