// Maratang wire protocol v1 client (JSON subprotocol) for browsers.
//
// No DOM access: it uses only fetch, WebSocket, timers, Web Storage and `location`, so a page,
// a worker or a Unity WebGL template can share it. One instance is one signed-in player:
//
//   const client = new MaratangClient();
//   client.subscribe(({ reason }) => render(client));
//   await client.signIn('민지');            // guest token, kept in sessionStorage
//   client.connect();                        // hello (+ resume), heartbeat, reconnects
//   await client.createTable({ rounds: 3 });
//
// The client keeps the table (`client.state`, the server's TableView shape) from `sync` and
// the session events after it, with the highest `seq` applied (session.js). After a dropped
// socket it reconnects with backoff and resumes from that `seq`; a reloaded page resumes the
// same way from what it kept (store.js).

import { Connection } from './connection.js';
import { signInGuest } from './guest.js';
import { TableHistory } from './history.js';
import { MESSAGE } from './protocol.js';
import { LocalTable, MaratangError, VERDICT } from './session.js';
import { ClientStore } from './store.js';

export { MaratangError };

/** Codes a leave can meet when the seat is gone anyway: the table is forgotten all the same. */
const GONE_ANYWAY = new Set(['not_in_session', 'session_not_found', 'offline', 'disconnected']);

/** `ws:`/`wss:` URL of `path` on the origin the page came from. */
export function wsUrlFor(loc, path = '/ws') {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}${path}`;
}

export class MaratangClient extends Connection {
  /**
   * @param {object} [options]
   * @param {string} [options.baseUrl]  HTTP origin of the server (default: the page's)
   * @param {string} [options.wsUrl]    WebSocket URL (default: ws(s)://<page host>/ws)
   * @param {Storage|null} [options.storage]  where token, table and seq survive a reload
   * @param {string} [options.storageKey]
   * @param {object} [options.backoff]  Backoff options: base, cap, budget, random
   * @param {Function} [options.transport]  makes a new transport for each attempt
   * @param {Function} [options.fetch]
   */
  constructor(options = {}) {
    const loc = globalThis.location;
    super({
      wsUrl: options.wsUrl ?? (loc ? wsUrlFor(loc) : ''),
      backoff: options.backoff,
      transport: options.transport,
    });
    this.baseUrl = options.baseUrl ?? (loc ? loc.origin : '');
    this._fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this._store = new ClientStore(options.storage, options.storageKey);
    /** The followed table (a LocalTable, session.js), or null. */
    this.table = null;
    this._history = new TableHistory();
    this._restore();
  }

  /** The followed table's session id, or null. */
  get session() {
    return this.table ? this.table.id : null;
  }

  /** The followed table (TableView wire shape), or null. */
  get state() {
    return this.table ? this.table.view : null;
  }

  /** Highest seq applied, per session id. */
  get seqs() {
    return this.table && this.table.active ? { [this.table.id]: this.table.seq } : {};
  }

  /** Resolved rounds of the current table: [{round, customer, results, totals}]. */
  get history() {
    return this._history.rounds;
  }

  /** Every player name seen at this table, by id (players who left keep their name). */
  get names() {
    return this._history.names;
  }

  get signedIn() {
    return this.token !== null;
  }

  // Sign-in --------------------------------------------------------------------------------

  /** A guest token for `name`; rejects with MaratangError (`invalid`, field `name`). */
  async signIn(name) {
    const { token, player } = await signInGuest(this._fetch, this.baseUrl, name);
    this.disconnect();
    this._forgetTable();
    this.token = token;
    this.player = player;
    this._setStatus('idle');
    this.flush();
    this._emit('signed-in', this.player);
    return this.player;
  }

  /** Forget the token and the table (the seat is kept by the server until its grace ends). */
  signOut() {
    this.disconnect();
    this._signedOut();
  }

  _signedOut() {
    this._forgetTable();
    super._signedOut();
    this.flush();
  }

  // The table ------------------------------------------------------------------------------

  _resumePoint() {
    return this.table ? this.table.resumePoint : null;
  }

  _resumeFailed() {
    this._forgetTable();
  }

  /**
   * The whole table as of `seq`. It may be a game already under way (a join just as the host
   * started, a resume past the kept history): round, phase, customer, narration and results
   * all come from `state`, never from events that will not come.
   */
  _onSync(message) {
    if (!this.table || this.table.id !== message.session) {
      this.table = new LocalTable(this.player.id);
      this._history = new TableHistory();
    }
    this.table.load(message);
    this._history.synced(message.state);
    this._changed('sync', message);
  }

  _onEvent(event) {
    const verdict = this.table ? this.table.offer(event) : VERDICT.ELSEWHERE;
    if (verdict === VERDICT.GAP) {
      this._abandon(`gap in seq: ${this.table.seq} then ${event.seq}`);
      return;
    }
    if (verdict !== VERDICT.APPLIED) return;
    this._history.applied(event, this.state);
    if (event.t === MESSAGE.PLAYER_LEFT && this.player && event.player === this.player.id) {
      this._forgetTable();
      this._changed('left', event);
      this._emit('notice', { code: 'left', message: event.reason });
      return;
    }
    this._changed('event', event);
  }

  _changed(reason, detail) {
    this._store.saveSoon(() => this._snapshot());
    this._emit(reason, detail);
  }

  _forgetTable() {
    this.table = null;
    this._history = new TableHistory();
  }

  // Requests -------------------------------------------------------------------------------

  createTable(settings = {}) {
    const clean = Object.fromEntries(
      Object.entries(settings).filter(([, value]) => value !== undefined && value !== null),
    );
    return this.request(MESSAGE.SESSION_CREATE, Object.keys(clean).length ? { settings: clean } : {});
  }

  joinTable(code) {
    return this.request(MESSAGE.SESSION_JOIN, { code: String(code).trim().toUpperCase() });
  }

  changeSettings(settings) {
    return this.request(MESSAGE.SESSION_SETTINGS, settings);
  }

  startGame() {
    return this.request(MESSAGE.GAME_START);
  }

  /** Submit (or resubmit) this round's bowl; the table shows it once the server confirms it. */
  submitBowl(round, ingredients, spice) {
    const bowl = { ingredients: [...ingredients], spice };
    if (this.table) this.table.rememberBowl(round, bowl);
    return this.request(MESSAGE.BOWL_SUBMIT, { round, ...bowl });
  }

  /** Give up the seat and forget the table (locally even when the server cannot be told). */
  async leaveTable() {
    try {
      if (this.session && this._welcomed) await this.request(MESSAGE.SESSION_LEAVE);
    } catch (error) {
      if (!GONE_ANYWAY.has(error.code)) throw error;
    } finally {
      this._forgetTable();
      this._changed('left', null);
    }
  }

  // Persistence ----------------------------------------------------------------------------

  /** Write token, table and seq to storage now (call it on `pagehide`). */
  flush() {
    this._store.save(() => this._snapshot());
  }

  _snapshot() {
    if (!this.token) return null;
    return {
      token: this.token,
      player: this.player,
      session: this.session,
      seqs: this.seqs,
      state: this.state,
      history: this.history,
      names: this.names,
    };
  }

  _restore() {
    const saved = this._store.load();
    if (!saved) return;
    this.token = saved.token;
    this.player = saved.player ?? null;
    this.status = 'idle';
    const seq = saved.seqs?.[saved.session];
    if (this.player && saved.session && saved.state && Number.isInteger(seq)) {
      this.table = new LocalTable(this.player.id, { id: saved.session, view: saved.state, seq });
      this._history = new TableHistory({ rounds: saved.history, names: saved.names });
    }
  }
}
