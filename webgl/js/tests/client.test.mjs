import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';

import { MaratangClient } from '../client.js';
import { SUBPROTOCOL_JSON } from '../protocol.js';
import { FakeServer, PLAYER, fakeFetch, until } from './fake.mjs';
import { readVectors, withoutNulls } from './vectors.mjs';

const S = 's_8fJ2kQ0aZx1c';
const WELCOME = { t: 'welcome', player: PLAYER, heartbeat_ms: 20000, server_time: Date.now() };
const clients = [];

afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect();
});

function lobby() {
  return {
    code: 'K7MPQ2',
    phase: 'lobby',
    settings: { rounds: 1, seconds: 30, lang: 'ko' },
    players: [{ id: PLAYER.id, name: PLAYER.name, total: 0, away: false, submitted: false }],
    round: 0,
    host: PLAYER.id,
  };
}

/** A signed-in client, welcomed on its first socket. */
async function connected({ budget = 12 } = {}) {
  const server = new FakeServer();
  const client = new MaratangClient({
    baseUrl: '',
    wsUrl: 'ws://maratang.test/ws',
    storage: null,
    fetch: fakeFetch,
    transport: server.factory(),
    backoff: { random: () => 0, budget },
  });
  clients.push(client);
  await client.signIn(PLAYER.name);
  client.connect();
  const ws = await server.attempt(1);
  await ws.frame('hello');
  ws.receive(WELCOME);
  return { server, client, ws };
}

/** A client seated at table S as of `seq`. */
async function seated(seq = 2, state = lobby()) {
  const setup = await connected();
  setup.ws.receive({ t: 'sync', session: S, seq, state });
  return setup;
}

const event = (seq, t, fields = {}) => ({ t, session: S, seq, ...fields });

describe('connecting', () => {
  test('the socket offers the JSON subprotocol and says hello with the token first', async () => {
    const { client, ws } = await connected();
    assert.equal(ws.subprotocol, SUBPROTOCOL_JSON);
    assert.deepEqual(ws.sent[0], { t: 'hello', token: 'token-minji' });
    assert.equal(client.status, 'connected');
  });

  test('a command carries a rid and resolves with the ack that echoes it', async () => {
    const { client, ws } = await connected();
    const joining = client.joinTable(' k7mpq2 ');
    const frame = await ws.frame('session.join');
    assert.deepEqual(frame, { t: 'session.join', rid: frame.rid, code: 'K7MPQ2' });
    ws.receive({ t: 'ack', rid: frame.rid, session: S, code: 'K7MPQ2' });
    assert.equal((await joining).session, S);
  });

  test('an error with the rid rejects that command with the server code', async () => {
    const { client, ws } = await connected();
    const starting = client.startGame();
    const { rid } = await ws.frame('game.start');
    ws.receive({ t: 'error', code: 'not_host', message: 'only the host can do that', retry: false, rid });
    await assert.rejects(starting, (error) => error.code === 'not_host' && !error.retry);
  });
});

describe('the table', () => {
  test('a sync taken after the game started gives the round, phase and narration', async () => {
    const late = readVectors('reducer.json').vectors.find(
      (vector) => vector.before.phase === 'picking' && vector.before.narration?.text && vector.events.length,
    );
    assert.ok(late, 'the reducer vectors have a view synced after the start');
    const { client, ws } = await connected();
    const [first] = late.events;
    ws.receive({ t: 'sync', session: first.session, seq: first.seq - 1, state: late.before });
    assert.equal(client.state.phase, 'picking');
    assert.equal(client.state.round, late.before.round);
    assert.equal(client.state.narration.text, late.before.narration.text);
    for (const message of late.events) ws.receive(message);
    assert.deepStrictEqual(withoutNulls(client.state), withoutNulls(late.after));
    assert.deepEqual(client.seqs, { [first.session]: late.events.at(-1).seq });
  });

  test('duplicates are dropped and the next events apply', async () => {
    const { client, ws } = await seated(2);
    ws.receive(event(3, 'player.joined', { player: { id: 'p_alex', name: 'Alex' } }));
    ws.receive(event(3, 'player.joined', { player: { id: 'p_alex', name: 'Alex' } }));
    ws.receive(event(2, 'host.changed', { host: 'p_alex' }));
    assert.equal(client.state.players.length, 2);
    assert.equal(client.state.host, PLAYER.id);
    assert.equal(client.names.p_alex, 'Alex');
    assert.deepEqual(client.seqs, { [S]: 3 });
  });

  test('a gap drops the socket and the next one resumes from the last seq applied', async () => {
    const { server, ws } = await seated(4);
    ws.receive(event(6, 'host.changed', { host: 'p_alex' }));
    assert.equal(ws.closed.code, 1006);
    const next = await server.attempt(2);
    assert.deepEqual(await next.frame('hello'), {
      t: 'hello',
      token: 'token-minji',
      resume: { session: S, seq: 4 },
    });
  });

  test('a resumed welcome keeps the table; one without the session forgets it', async () => {
    const { server, client, ws } = await seated(4);
    ws.drop(1012);
    const second = await server.attempt(2);
    await second.frame('hello');
    second.receive({ ...WELCOME, session: S });
    assert.equal(client.resumed, true);
    assert.equal(client.session, S);
    second.drop(1001);
    const third = await server.attempt(3);
    await third.frame('hello');
    const notice = until(client, ({ reason }) => reason === 'notice');
    third.receive(WELCOME);
    assert.equal((await notice).detail.code, 'resume_failed');
    assert.equal(client.session, null);
    assert.equal(client.state, null);
  });

  test('the bowl sent becomes the table bowl when the server confirms it', async () => {
    const picking = { ...lobby(), phase: 'picking', round: 1, deadline: Date.now() + 30000 };
    const { client, ws } = await seated(7, picking);
    const submitting = client.submitBowl(1, ['bok_choy', 'enoki', 'beef'], 2);
    const frame = await ws.frame('bowl.submit');
    assert.deepEqual(frame, {
      t: 'bowl.submit',
      rid: frame.rid,
      round: 1,
      ingredients: ['bok_choy', 'enoki', 'beef'],
      spice: 2,
    });
    ws.receive(event(8, 'bowl.submitted', { round: 1, player: PLAYER.id }));
    ws.receive({ t: 'ack', rid: frame.rid });
    await submitting;
    assert.deepEqual(client.state.bowl, { ingredients: ['bok_choy', 'enoki', 'beef'], spice: 2 });
    assert.equal(client.state.players[0].submitted, true);
  });
});

describe('closes', () => {
  for (const code of [4401, 4429]) {
    test(`close ${code} signs out and never reconnects`, async () => {
      const { server, client, ws } = await seated(3);
      const notice = until(client, ({ reason }) => reason === 'notice');
      ws.drop(code);
      assert.equal((await notice).detail.code, code === 4401 ? 'unauthorized' : 'abuse');
      assert.equal(client.status, 'signed-out');
      assert.equal(client.token, null);
      assert.equal(client.nextRetryAt, null);
      assert.equal(server.transports.length, 1);
    });
  }

  for (const code of [1000, 1001, 1006, 1011, 1012, 1013, 4408]) {
    test(`close ${code} reconnects and resumes`, async () => {
      const { server, client, ws } = await seated(3);
      ws.drop(code);
      assert.equal(client.status, 'reconnecting');
      const next = await server.attempt(2);
      assert.deepEqual((await next.frame('hello')).resume, { session: S, seq: 3 });
    });
  }

  test('waiting commands fail as disconnected when the socket drops', async () => {
    const { client, ws } = await seated(3);
    const starting = client.startGame();
    await ws.frame('game.start');
    ws.drop(1011);
    await assert.rejects(starting, (error) => error.code === 'disconnected' && error.retry);
  });

  test('after the retry budget is spent the client stops until asked again', async () => {
    const { server, client, ws } = await connected({ budget: 3 });
    server.refusing = true;
    const gaveUp = until(client, ({ reason, detail }) => reason === 'notice' && detail.code === 'gave_up');
    ws.drop(1006);
    await gaveUp;
    assert.equal(server.transports.length, 4);
    assert.equal(client.status, 'idle');
    server.refusing = false;
    client.reconnectNow();
    const next = await server.attempt(5);
    await next.frame('hello');
    next.receive(WELCOME);
    assert.equal(client.status, 'connected');
    assert.equal(client.attempt, 0);
  });
});
