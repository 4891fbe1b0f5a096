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
// same way from what it kept in sessionStorage.

import { command, decodeMessage, encodeMessage, hello } from './codec.js';
import { MESSAGE, SUBPROTOCOL_JSON } from './protocol.js';
import { Backoff, LocalTable, MaratangError, PendingRequests, VERDICT, shouldReconnect } from './session.js';
import { CLOSE_ABNORMAL, WebSocketTransport } from './transport.js';

export { MaratangError };

const STORE_VERSION = 1;
const SAVE_DELAY_MS = 150;
/** Codes of the table commands that cannot fail a leave: the seat is gone either way. */
const GONE_ANYWAY = new Set(['not_in_session', 'session_not_found', 'offline', 'disconnected']);

/** `ws:`/`wss:` URL of `path` on the origin the page came from. */
export function wsUrlFor(loc, path = '/ws') {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}${path}`;
}

function defaultStorage() {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null; // storage disabled (privacy settings): the client works, a reload signs out
  }
}

const offline = () => new MaratangError({ code: 'offline', message: 'not connected', retry: true });

export class MaratangClient {
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
    this.baseUrl = options.baseUrl ?? (loc ? loc.origin : '');
    this.wsUrl = options.wsUrl ?? (loc ? wsUrlFor(loc) : '');
    this._storage = options.storage === undefined ? defaultStorage() : options.storage;
    this._storageKey = options.storageKey ?? 'maratang.client';
    this._makeTransport = options.transport ?? (() => new WebSocketTransport());
    this._fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.backoff = new Backoff(options.backoff);

    /** 'signed-out' | 'idle' | 'connecting' | 'connected' | 'reconnecting' */
    this.status = 'signed-out';
    this.token = null;
    this.player = null;
    /** The followed table (a LocalTable, session.js), or null. */
    this.table = null;
    /** Resolved rounds of the current table: [{round, customer, results, totals}]. */
    this.history = [];
    /** Every player name seen at this table, by id (players who left keep their name). */
    this.names = {};
    this.heartbeatMs = null;
    this.rtt = null;
    /** serverTime ≈ Date.now() + clockOffset. */
    this.clockOffset = 0;
    this.nextRetryAt = null;
    this.lastClose = null;
    /** Whether the last welcome resumed the table (missed events follow) rather than not. */
    this.resumed = false;

    this._listeners = new Set();
    this._pending = new PendingRequests();
    this._transport = null;
    this._welcomed = false;
    this._wanted = false;
    this._resumeSent = null;
    this._retryTimer = null;
    this._heartbeatTimer = null;
    this._pingOutstanding = null;
    this._bestRtt = Infinity;
    this._byeRetryMs = null;
    this._helloRefused = null;
    this._saveTimer = null;

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

  /** Reconnect attempts since the last welcome. */
  get attempt() {
    return this.backoff.attempt;
  }

  // Listeners ------------------------------------------------------------------------------

  /** `fn({reason, detail, client})` after every change; returns an unsubscribe function. */
  subscribe(fn) {
    this._listeners.add(fn);
    return () => this._listeners.delete(fn);
  }

  _emit(reason, detail = null) {
    for (const fn of [...this._listeners]) {
      try {
        fn({ reason, detail, client: this });
      } catch (error) {
        console.error('maratang listener failed', error);
      }
    }
  }

  _setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this._emit('status', status);
  }

  // Sign-in --------------------------------------------------------------------------------

  get signedIn() {
    return this.token !== null;
  }

  /** A guest token for `name`; rejects with MaratangError (`invalid`, field `name`). */
  async signIn(name) {
    const body = await this._postGuest(name);
    this.disconnect();
    this._forgetTable();
    this.token = body.token;
    this.player = body.player;
    this._setStatus('idle');
    this._save(true);
    this._emit('signed-in', this.player);
    return this.player;
  }

  async _postGuest(name) {
    let response;
    try {
      response = await this._fetch(`${this.baseUrl}/api/auth/guest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name }),
      });
    } catch (error) {
      throw new MaratangError({ code: 'offline', message: String(error), retry: true });
    }
    const body = await response.json().catch(() => null);
    if (response.ok && body && body.token) return body;
    const error = (body && body.error) || {
      code: `http_${response.status}`,
      message: response.statusText,
    };
    throw new MaratangError({ ...error, status: response.status, retry: response.status >= 500 });
  }

  /** Forget the token and the table (the seat is kept by the server until its grace ends). */
  signOut() {
    this.disconnect();
    this.token = null;
    this.player = null;
    this._forgetTable();
    this._setStatus('signed-out');
    this._save(true);
  }

  // Connection -----------------------------------------------------------------------------

  /** Open the socket and keep it open: reconnects until `disconnect()`, a terminal close or the retry budget is spent. */
  connect() {
    if (!this.token) throw new MaratangError({ code: 'unauthorized', message: 'sign in first' });
    this._wanted = true;
    if (this._transport || this._retryTimer !== null) return;
    this._open();
  }

  disconnect() {
    this._wanted = false;
    this._clearRetry();
    const transport = this._transport;
    if (transport) {
      this._detach('closed by the client');
      transport.close(1000, 'bye');
    }
    if (this.token) this._setStatus('idle');
  }

  /** Try again now, with a fresh retry budget (e.g. the browser says it is online again). */
  reconnectNow() {
    if (!this._wanted || this._transport) return;
    this.backoff.reset();
    this._open();
  }

  get connected() {
    return this._welcomed;
  }

  /** The server's clock now, in ms since the epoch (for `deadline`). */
  serverNow() {
    return Date.now() + this.clockOffset;
  }

  async _open() {
    this._clearRetry();
    this._setStatus(this.attempt === 0 && this.lastClose === null ? 'connecting' : 'reconnecting');
    const transport = this._makeTransport();
    this._transport = transport;
    this._welcomed = false;
    transport.onMessage = (text) => {
      if (transport === this._transport) this._onFrame(text);
    };
    transport.onClosed = (code, reason) => {
      if (transport === this._transport) this._onClose(code, reason);
    };
    try {
      await transport.connect(this.wsUrl, SUBPROTOCOL_JSON);
    } catch (error) {
      if (transport === this._transport) this._onClose(CLOSE_ABNORMAL, error.message);
      return;
    }
    if (transport !== this._transport) return;
    this._resumeSent = this.table ? this.table.resumePoint : null;
    this._send(hello(this.token, this._resumeSent));
  }

  /** Stop using the current socket: timers off, waiting requests rejected. */
  _detach(why) {
    this._transport = null;
    this._welcomed = false;
    this._resumeSent = null;
    if (this._heartbeatTimer !== null) clearInterval(this._heartbeatTimer);
    this._heartbeatTimer = null;
    this._pingOutstanding = null;
    this._pending.rejectAll(new MaratangError({ code: 'disconnected', message: why, retry: true }));
  }

  _onClose(code, reason) {
    this.lastClose = { code, reason, at: Date.now() };
    const refused = this._helloRefused;
    this._helloRefused = null;
    this._detach(`socket closed (${code})`);
    this._save(true);
    if (!this._wanted) {
      if (this.token) this._setStatus('idle');
    } else if (shouldReconnect(code)) {
      this._scheduleReconnect();
    } else {
      this._terminalClose(code, (refused && refused.message) || reason || `closed ${code}`);
    }
  }

  /** Unauthorized or abusive: never retry on our own; a fresh sign-in starts over. */
  _terminalClose(code, message) {
    this._wanted = false;
    this.token = null;
    this.player = null;
    this._forgetTable();
    this._save(true);
    this._setStatus('signed-out');
    this._emit('notice', { code: code === 4401 ? 'unauthorized' : 'abuse', message });
  }

  _scheduleReconnect() {
    let delay = this.backoff.next();
    if (delay === null) {
      this._setStatus('idle');
      this._emit('notice', { code: 'gave_up', message: 'the server stayed out of reach' });
      return;
    }
    if (this._byeRetryMs !== null) {
      delay = Math.max(delay, this._byeRetryMs + Math.floor(this.backoff.random() * 250));
      this._byeRetryMs = null;
    }
    this.nextRetryAt = Date.now() + delay;
    this._setStatus('reconnecting');
    this._emit('retry', { delay, attempt: this.attempt });
    this._retryTimer = setTimeout(() => {
      this._retryTimer = null;
      this.nextRetryAt = null;
      if (this._wanted && !this._transport) this._open();
    }, delay);
  }

  _clearRetry() {
    if (this._retryTimer !== null) clearTimeout(this._retryTimer);
    this._retryTimer = null;
    this.nextRetryAt = null;
  }

  /** Drop a socket that looks dead or inconsistent and resume on a new one. */
  _abandon(why) {
    if (this._transport) this._transport.abort(why);
  }

  _send(message) {
    return Boolean(this._transport) && this._transport.send(encodeMessage(message));
  }

  // Heartbeat ------------------------------------------------------------------------------

  _startHeartbeat() {
    if (this._heartbeatTimer !== null) clearInterval(this._heartbeatTimer);
    const every = Math.max(1000, this.heartbeatMs || 20000);
    this._heartbeatTimer = setInterval(() => {
      if (this._pingOutstanding !== null) this._abandon('no pong within a heartbeat');
      else this._ping();
    }, every);
    this._ping();
  }

  _ping() {
    const ts = Date.now();
    if (this._send(command(MESSAGE.PING, null, { ts }))) this._pingOutstanding = ts;
  }

  _onPong(message) {
    const now = Date.now();
    if (this._pingOutstanding === message.ts) this._pingOutstanding = null;
    const rtt = now - message.ts;
    if (!(rtt >= 0)) return;
    this.rtt = rtt;
    if (rtt <= this._bestRtt && typeof message.server_time === 'number') {
      this._bestRtt = rtt;
      this.clockOffset = message.server_time - (message.ts + rtt / 2);
    }
    this._emit('pong', rtt);
  }

  // Frames ---------------------------------------------------------------------------------

  _onFrame(text) {
    const message = decodeMessage(text);
    if (!message) return;
    switch (message.t) {
      case MESSAGE.WELCOME:
        this._onWelcome(message);
        break;
      case MESSAGE.ACK:
        this._pending.resolve(message.rid, message);
        break;
      case MESSAGE.ERROR:
        this._onError(message);
        break;
      case MESSAGE.PONG:
        this._onPong(message);
        break;
      case MESSAGE.BYE:
        this._byeRetryMs = Number(message.retry_ms) || 0;
        this._emit('notice', { code: 'bye', message: message.reason, retry: true });
        break;
      case MESSAGE.SYNC:
        this._onSync(message);
        break;
      default:
        if (typeof message.session === 'string' && Number.isInteger(message.seq)) {
          this._onEvent(message);
        }
    }
  }

  _onWelcome(message) {
    this._welcomed = true;
    this.backoff.reset();
    this.player = message.player;
    this.heartbeatMs = message.heartbeat_ms;
    this._bestRtt = Infinity;
    if (typeof message.server_time === 'number') {
      this.clockOffset = message.server_time - Date.now();
    }
    const asked = this._resumeSent;
    this._resumeSent = null;
    this.resumed = Boolean(asked && message.session === asked.session);
    if (asked && !this.resumed) {
      // The table is gone, or we lost the seat: nothing to resume.
      this._forgetTable();
      this._emit('notice', { code: 'resume_failed', message: 'the table is no longer there' });
    }
    this._setStatus('connected');
    this._startHeartbeat();
    this._save(true);
    this._emit('welcome', { resumed: this.resumed });
  }

  _onError(message) {
    const error = new MaratangError(message);
    if (message.rid !== undefined && this._pending.has(message.rid)) {
      this._pending.reject(message.rid, error);
    } else if (!this._welcomed) {
      this._helloRefused = error; // the close (4401) that follows says it again
    } else {
      this._emit('notice', error);
    }
  }

  /**
   * The whole table as of `seq`. It may be a game already under way (a join just as the host
   * started, a resume past the kept history): round, phase, customer, narration and results
   * all come from `state`, never from events that will not come.
   */
  _onSync(message) {
    if (!this.table || this.table.id !== message.session) {
      this.table = new LocalTable(this.player.id);
      this.history = [];
      this.names = {};
    }
    this.table.load(message);
    const { state } = message;
    for (const seat of state.players) this.names[seat.id] = seat.name;
    for (const entry of state.ranking || []) this.names[entry.player] = entry.name;
    if (state.results && state.round) {
      const totals = Object.fromEntries(state.players.map((seat) => [seat.id, seat.total]));
      this._remember({ round: state.round, customer: state.customer, results: state.results, totals });
    }
    this._changed('sync', message);
  }

  _onEvent(event) {
    const verdict = this.table ? this.table.offer(event) : VERDICT.ELSEWHERE;
    if (verdict === VERDICT.GAP) {
      this._abandon(`gap in seq: ${this.table.seq} then ${event.seq}`);
      return;
    }
    if (verdict !== VERDICT.APPLIED) return;
    switch (event.t) {
      case MESSAGE.PLAYER_JOINED:
        this.names[event.player.id] = event.player.name;
        break;
      case MESSAGE.ROUND_RESOLVED:
        this._remember({
          round: event.round,
          customer: this.state.customer,
          results: event.results,
          totals: event.totals,
        });
        break;
      case MESSAGE.GAME_STARTED:
        this.history = [];
        break;
      case MESSAGE.PLAYER_LEFT:
        if (this.player && event.player === this.player.id) {
          this._forgetTable();
          this._changed('left', event);
          this._emit('notice', { code: 'left', message: event.reason });
          return;
        }
        break;
      default:
    }
    this._changed('event', event);
  }

  _remember(entry) {
    this.history = [...this.history.filter((old) => old.round !== entry.round), entry].sort(
      (a, b) => a.round - b.round,
    );
  }

  _changed(reason, detail) {
    this._save(false);
    this._emit(reason, detail);
  }

  _forgetTable() {
    this.table = null;
    this.history = [];
    this.names = {};
  }

  // Requests -------------------------------------------------------------------------------

  /**
   * Send command `t` with a fresh `rid`: resolves with the `ack`, rejects with a MaratangError
   * (the server's `error`, or `offline` / `disconnected` / `timeout`). Events the command
   * causes may arrive before or after its ack; they, not the ack, change the table.
   */
  request(t, fields = {}, { timeout } = {}) {
    if (!this._welcomed) return Promise.reject(offline());
    const { rid, promise } = this._pending.open(t, { timeout });
    if (!this._send(command(t, rid, fields))) this._pending.reject(rid, offline());
    return promise;
  }

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

  /** Submit (or resubmit) this round's bowl; the table's `bowl` becomes it once the server confirms. */
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

  _restore() {
    const saved = this._load();
    if (!saved || saved.v !== STORE_VERSION || !saved.token) return;
    this.token = saved.token;
    this.player = saved.player ?? null;
    this.status = 'idle';
    const seq = saved.seqs?.[saved.session];
    if (this.player && saved.session && saved.state && Number.isInteger(seq)) {
      this.table = new LocalTable(this.player.id, { id: saved.session, view: saved.state, seq });
      this.history = Array.isArray(saved.history) ? saved.history : [];
      this.names = saved.names && typeof saved.names === 'object' ? saved.names : {};
    }
  }

  _load() {
    if (!this._storage) return null;
    try {
      return JSON.parse(this._storage.getItem(this._storageKey) || 'null');
    } catch {
      return null;
    }
  }

  /** Write token, table and seq to storage now (call it on `pagehide`). */
  flush() {
    this._save(true);
  }

  _save(now) {
    if (!this._storage) return;
    if (!now) {
      if (this._saveTimer === null) this._saveTimer = setTimeout(() => this._save(true), SAVE_DELAY_MS);
      return;
    }
    if (this._saveTimer !== null) clearTimeout(this._saveTimer);
    this._saveTimer = null;
    try {
      if (this.token) this._storage.setItem(this._storageKey, JSON.stringify(this._snapshot()));
      else this._storage.removeItem(this._storageKey);
    } catch {
      /* storage full or disabled: resume still works while the page lives */
    }
  }

  /** Table and seq are written together, so a restored table always matches its seq. */
  _snapshot() {
    return {
      v: STORE_VERSION,
      token: this.token,
      player: this.player,
      session: this.session,
      seqs: this.seqs,
      state: this.state,
      history: this.history,
      names: this.names,
    };
  }
}
