import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { PROTOCOL } from '../protocol.js';
import { LocalTable, VERDICT } from '../session.js';
import { readVectors, withoutNulls } from './vectors.mjs';

const reducer = readVectors('reducer.json');

/**
 * A vector's events applied as a client applies them: through the session bookkeeping (so
 * the seqs are consecutive), with the bowls this viewer sent remembered per round.
 */
function replay({ viewer, before, events, own_bowls: ownBowls }) {
  const table = new LocalTable(viewer);
  const first = events.length ? events[0] : { session: 's_vector', seq: 1 };
  table.load({ session: first.session, seq: first.seq - 1, state: before });
  for (const [round, bowl] of Object.entries(ownBowls ?? {})) table.rememberBowl(Number(round), bowl);
  for (const event of events) assert.equal(table.offer(event), VERDICT.APPLIED, `${event.t} ${event.seq}`);
  return table.view;
}

describe('reducer vectors', () => {
  test('are for this protocol version', () => {
    assert.equal(reducer.protocol, PROTOCOL);
    assert.ok(reducer.vectors.length > 0);
  });

  for (const vector of reducer.vectors) {
    test(vector.name, () => {
      const before = structuredClone(vector.before);
      const after = replay(vector);
      assert.deepStrictEqual(withoutNulls(after), withoutNulls(vector.after));
      assert.deepStrictEqual(vector.before, before, 'the reducer changed its input');
    });
  }
});
