import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { command, decodeMessage, encodeMessage, hello } from '../codec.js';
import { FIELDS, MESSAGE, PROTOCOL } from '../protocol.js';
import { readVectors } from './vectors.mjs';

const golden = readVectors('v1.json');

/** Session events carry `session` and `seq` beside their fields; `sync` has them as fields. */
const isEvent = (message) => message.t !== MESSAGE.SYNC && Number.isInteger(message.seq);

/** The message as the client builds it: `hello` from token and resume, commands from their fields. */
function built({ t, rid, ...fields }) {
  return t === MESSAGE.HELLO ? hello(fields.token, fields.resume) : command(t, rid, fields);
}

describe('golden vectors (JSON)', () => {
  test('are for this protocol version', () => {
    assert.equal(golden.protocol, PROTOCOL);
    assert.ok(golden.vectors.length > 0);
  });

  for (const vector of golden.vectors) {
    test(`${vector.direction} ${vector.name}: the text frame decodes to its value`, () => {
      assert.deepStrictEqual(decodeMessage(vector.json), vector.value);
    });

    test(`${vector.direction} ${vector.name}: the value encodes to the exact text frame`, () => {
      assert.equal(encodeMessage(vector.value), vector.json);
    });

    test(`${vector.direction} ${vector.name}: every field is one the protocol names`, () => {
      const { t } = vector.value;
      const envelope = isEvent(vector.value) ? ['t', 'session', 'seq'] : ['t'];
      const known = new Set([...envelope, ...(FIELDS[t] ?? [])]);
      for (const name of Object.keys(vector.value)) assert.ok(known.has(name), `${t}.${name}`);
    });

    if (vector.direction === 'client') {
      test(`client ${vector.name}: the client builds the exact text frame`, () => {
        assert.equal(encodeMessage(built(vector.value)), vector.json);
      });
    }
  }
});

describe('decoding', () => {
  test('a frame that is not a map with a string t is refused', () => {
    for (const text of ['not json', '[1,2]', '"hello"', 'null', '{"t":3}', '{"x":"hello"}']) {
      assert.equal(decodeMessage(text), null, text);
    }
  });

  test('a command leaves absent fields out instead of sending null', () => {
    assert.equal(
      encodeMessage(command('session.settings', 'r9', { rounds: 3, seconds: undefined, lang: null })),
      '{"t":"session.settings","rid":"r9","rounds":3}',
    );
  });
});
