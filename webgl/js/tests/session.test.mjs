import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { CLOSE, RESUMABLE_CLOSES, TERMINAL_CLOSES } from '../protocol.js';
import { Backoff, LocalTable, PendingRequests, VERDICT, shouldReconnect } from '../session.js';

const S = 's_8fJ2kQ0aZx1c';
const ME = 'p_minji';

function lobby() {
  return {
    code: 'K7MPQ2',
    phase: 'lobby',
    settings: { rounds: 1, seconds: 30, lang: 'ko' },
    players: [{ id: ME, name: '민지', total: 0, away: false, submitted: false }],
    round: 0,
    host: ME,
  };
}

function synced(seq = 2, state = lobby()) {
  const table = new LocalTable(ME);
  table.load({ session: S, seq, state });
  return table;
}

const event = (seq, t, fields = {}) => ({ t, session: S, seq, ...fields });

describe('backoff', () => {
  test('each attempt waits a random time below min(cap, base * 2^attempt)', () => {
    const backoff = new Backoff({ random: () => 0.999999 });
    const waits = Array.from({ length: 8 }, () => backoff.next());
    assert.deepEqual(waits, [499, 999, 1999, 3999, 7999, 14999, 14999, 14999]);
  });

  test('the jitter is full: the shortest wait is zero', () => {
    const backoff = new Backoff({ random: () => 0 });
    for (let i = 0; i < 5; i += 1) assert.equal(backoff.next(), 0);
  });

  test('the jitter follows the random source', () => {
    const backoff = new Backoff({ random: () => 0.5 });
    assert.deepEqual([backoff.next(), backoff.next(), backoff.next()], [250, 500, 1000]);
  });

  test('the defaults are base 500 ms, cap 15 s and a budget of 12 attempts', () => {
    const backoff = new Backoff();
    assert.deepEqual([backoff.base, backoff.cap, backoff.budget], [500, 15000, 12]);
    assert.equal(backoff.ceiling(0), 500);
    assert.equal(backoff.ceiling(30), 15000);
  });

  test('a spent budget gives no more waits until a reset', () => {
    const backoff = new Backoff({ budget: 3, random: () => 0 });
    assert.deepEqual([backoff.next(), backoff.next(), backoff.next()], [0, 0, 0]);
    assert.equal(backoff.next(), null);
    assert.equal(backoff.attempt, 3);
    backoff.reset();
    assert.equal(backoff.attempt, 0);
    assert.equal(backoff.next(), 0);
  });
});

describe('close codes', () => {
  test('4401 and 4429 stop: no reconnect can succeed', () => {
    assert.deepEqual([...TERMINAL_CLOSES].sort(), [CLOSE.UNAUTHORIZED, CLOSE.ABUSE]);
    assert.equal(shouldReconnect(4401), false);
    assert.equal(shouldReconnect(4429), false);
  });

  test('every other close retries, a socket lost without a close frame too', () => {
    for (const code of [...RESUMABLE_CLOSES, 1000, 1006, 1009, 4000]) {
      assert.equal(shouldReconnect(code), true, String(code));
    }
  });
});

describe('seq bookkeeping', () => {
  test('a sync sets the table and its seq', () => {
    const table = synced(2);
    assert.equal(table.seq, 2);
    assert.deepEqual(table.resumePoint, { session: S, seq: 2 });
  });

  test('the next event applies and moves the seq', () => {
    const table = synced(2);
    const joined = event(3, 'player.joined', { player: { id: 'p_alex', name: 'Alex' } });
    assert.equal(table.offer(joined), VERDICT.APPLIED);
    assert.equal(table.seq, 3);
    assert.deepEqual(table.view.players.map((seat) => seat.id), [ME, 'p_alex']);
  });

  test('an event at or below the seq is a duplicate and changes nothing', () => {
    const table = synced(3);
    const before = table.view;
    for (const seq of [1, 3]) {
      assert.equal(table.offer(event(seq, 'host.changed', { host: 'p_alex' })), VERDICT.DUPLICATE);
    }
    assert.equal(table.view, before);
    assert.equal(table.seq, 3);
  });

  test('an event that skips ahead is a gap and is not applied', () => {
    const table = synced(3);
    const before = table.view;
    assert.equal(table.offer(event(5, 'host.changed', { host: 'p_alex' })), VERDICT.GAP);
    assert.equal(table.view, before);
    assert.deepEqual(table.resumePoint, { session: S, seq: 3 });
  });

  test('an event of another table, or before any sync, is elsewhere', () => {
    const table = synced(3);
    assert.equal(table.offer({ ...event(4, 'player.away', { player: ME }), session: 's_other' }), VERDICT.ELSEWHERE);
    assert.equal(new LocalTable(ME).offer(event(1, 'player.away', { player: ME })), VERDICT.ELSEWHERE);
  });

  test('an event of an unknown type counts its seq and leaves the table as it was', () => {
    const table = synced(3);
    const before = table.view;
    assert.equal(table.offer(event(4, 'table.decorated', { theme: 'lanterns' })), VERDICT.APPLIED);
    assert.equal(table.seq, 4);
    assert.equal(table.view, before);
  });

  test('a later sync replaces the table and the seq, even backwards', () => {
    const table = synced(9);
    table.load({ session: S, seq: 4, state: { ...lobby(), host: 'p_alex' } });
    assert.equal(table.seq, 4);
    assert.equal(table.view.host, 'p_alex');
  });

  test('the bowl this client sent becomes the table bowl when the server confirms it', () => {
    const table = synced(5, { ...lobby(), phase: 'picking', round: 2 });
    const bowl = { ingredients: ['bok_choy', 'enoki', 'beef'], spice: 2 };
    table.rememberBowl(1, { ingredients: ['potato', 'shrimp', 'dumplings'], spice: 3 });
    table.rememberBowl(2, bowl);
    table.offer(event(6, 'bowl.submitted', { round: 2, player: 'p_alex' }));
    assert.equal(table.view.bowl, undefined);
    table.offer(event(7, 'bowl.submitted', { round: 2, player: ME }));
    assert.deepEqual(table.view.bowl, bowl);
  });
});

describe('pending requests', () => {
  test('every request gets its own rid and is settled by it', async () => {
    const pending = new PendingRequests();
    const first = pending.open('game.start');
    const second = pending.open('bowl.submit');
    assert.notEqual(first.rid, second.rid);
    pending.resolve(second.rid, { t: 'ack', rid: second.rid });
    pending.reject(first.rid, new Error('refused'));
    assert.deepEqual(await second.promise, { t: 'ack', rid: second.rid });
    await assert.rejects(first.promise, /refused/);
    assert.equal(pending.size, 0);
  });

  test('a request without an answer times out with a retryable error', async () => {
    const pending = new PendingRequests({ timeout: 5 });
    const { rid, promise } = pending.open('session.join');
    await assert.rejects(promise, (error) => error.code === 'timeout' && error.retry && error.rid === rid);
    assert.equal(pending.has(rid), false);
  });

  test('a closed socket rejects every waiting request', async () => {
    const pending = new PendingRequests();
    const requests = [pending.open('game.start'), pending.open('session.leave')];
    pending.rejectAll(new Error('disconnected'));
    for (const { promise } of requests) await assert.rejects(promise, /disconnected/);
    assert.equal(pending.size, 0);
  });
});
