// Maratang wire protocol v1 client (JSON subprotocol) for browsers.
//
// No DOM access: it uses only fetch, WebSocket, timers, Web Storage and `location`, so a page,
// a worker or a Unity WebGL template can share it. One instance is one signed-in player:
//
//   const client = new MaratangClient();
//   client.subscribe(({ reason }) => render(client));
//   await client.signIn('민지');            // guest token, kept in sessionStorage
//   client.connect();                        // hello (+ resume), heartbeat, reconnects
//   await client.request('session.create', { settings: { rounds: 3 } });
//
// The client keeps a local copy of the table (`client.state`, the server's TableView shape)
// from `sync` and the session events after it, and the highest `seq` it applied per session.
// After a dropped socket it reconnects (exponential backoff with full jitter) and resumes from
// that `seq`; a reloaded page resumes the same way from what it kept in sessionStorage.

export const SUBPROTOCOL = 'maratang.v1.json';
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 15000;
export const REQUEST_TIMEOUT_MS = 15000;
/** Close codes after which only a fresh sign-in may connect again. */
export const FINAL_CLOSE_CODES = new Set([4401, 4429]);

const STORE_VERSION = 1;
const SAVE_DELAY_MS = 150;

/** An `error` frame, an HTTP error body, or a local failure (`offline`, `timeout`, ...). */
export class MaratangError extends Error {
  constructor({ code, message, retry = false, field = null, rid = null, status = null }) {
    super(message || code);
    this.name = 'MaratangError';
    this.code = code;
    this.retry = Boolean(retry);
    this.field = field ?? null;
    this.rid = rid ?? null;
    this.status = status;
  }
}

/** Full-jitter backoff: a random delay in [0, min(cap, base * 2^attempt)). */
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

/** `ws:`/`wss:` URL of `path` on the origin the page came from. */
export function wsUrlFor(loc, path = '/ws') {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}${path}`;
}

// The reducer ----------------------------------------------------------------------------

function mapSeats(state, fn) {
  return { ...state, players: state.players.map(fn) };
}

function withSeat(state, id, patch) {
  return mapSeats(state, (seat) => (seat.id === id ? { ...seat, ...patch } : seat));
}

/**
 * The table after one session event: a new object (the old one is left as it was), so a view
 * can tell what changed by comparing references. Unknown events leave the table unchanged.
 */
export function applyEvent(state, event) {
  if (!state) return state;
  switch (event.t) {
    case 'player.joined': {
      const { id, name } = event.player;
      if (state.players.some((seat) => seat.id === id)) {
        return withSeat(state, id, { name, away: false });
      }
      const seat = { id, name, total: 0, away: false, submitted: false };
      return { ...state, players: [...state.players, seat] };
    }
    case 'player.left':
      return { ...state, players: state.players.filter((seat) => seat.id !== event.player) };
    case 'player.away':
      return withSeat(state, event.player, { away: true });
    case 'player.back':
      return withSeat(state, event.player, { away: false });
    case 'host.changed':
      return { ...state, host: event.host };
    case 'settings.changed':
      return {
        ...state,
        settings: { rounds: event.rounds, seconds: event.seconds, lang: event.lang },
      };
    case 'game.started':
      return {
        ...mapSeats(state, (seat) => ({ ...seat, total: 0, submitted: false })),
        settings: { ...state.settings, rounds: event.rounds },
        ranking: null,
        results: null,
      };
    case 'round.started':
      return {
        ...mapSeats(state, (seat) => ({ ...seat, submitted: false })),
        phase: 'picking',
        round: event.round,
        customer: event.customer,
        deadline: event.deadline,
        bowl: null,
        results: null,
      };
    case 'bowl.submitted':
      if (event.round !== state.round) return state;
      return withSeat(state, event.player, { submitted: true });
    case 'round.resolved': {
      const totals = event.totals || {};
      return {
        ...mapSeats(state, (seat) =>
          seat.id in totals ? { ...seat, total: totals[seat.id] } : seat,
        ),
        phase: 'tasting',
        round: event.round,
        deadline: null,
        results: event.results,
      };
    }
    case 'narration.start':
      return {
        ...state,
        narration: { nid: event.nid, kind: event.kind, round: event.round, text: '' },
      };
    case 'narration.delta': {
      const current = state.narration;
      if (current && current.nid === event.nid) {
        return { ...state, narration: { ...current, text: current.text + event.text } };
      }
      // A delta without its start (should not happen): show it rather than lose it.
      return { ...state, narration: { nid: event.nid, kind: null, text: event.text } };
    }
    case 'narration.end': {
      const current = state.narration && state.narration.nid === event.nid ? state.narration : {};
      return {
        ...state,
        narration: { ...current, nid: event.nid, text: event.text, source: event.source },
      };
    }
    case 'game.over':
      return { ...state, phase: 'over', deadline: null, ranking: event.ranking };
    case 'session.closed':
      return { ...state, phase: 'closed', deadline: null };
    default:
      return state;
  }
}

// The client -----------------------------------------------------------------------------

function defaultStorage() {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null; // storage disabled (privacy settings): the client works, a reload signs out
  }
}

export class MaratangClient {
  /**
   * @param {object} [options]
   * @param {string} [options.baseUrl]  HTTP origin of the server (default: the page's)
   * @param {string} [options.wsUrl]    WebSocket URL (default: ws(s)://<page host>/ws)
   * @param {Storage|null} [options.storage]  where token, table and seq survive a reload
   * @param {string} [options.storageKey]
   * @param {Function} [options.WebSocket] [options.fetch] [options.random]  for tests
   */
  constructor(options = {}) {
    const loc = globalThis.location;
    this.baseUrl = options.baseUrl ?? (loc ? loc.origin : '');
    this.wsUrl = options.wsUrl ?? (loc ? wsUrlFor(loc) : '');
    this._storage = options.storage === undefined ? defaultStorage() : options.storage;
    this._storageKey = options.storageKey ?? 'maratang.client';
    this._WebSocket = options.WebSocket ?? globalThis.WebSocket;
    this._fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this._random = options.random ?? Math.random;

    /** 'signed-out' | 'idle' | 'connecting' | 'connected' | 'reconnecting' */
    this.status = 'signed-out';
    this.token = null;
    this.player = null;
    /** The session this client follows, and its table (TableView shape) — or null. */
    this.session = null;
    this.state = null;
    /** Highest seq applied, per session id. */
    this.seqs = {};
    /** Resolved rounds of the current table: [{round, customer, results, totals}]. */
    this.history = [];
    /** Every player name seen at this table, by id (players who left keep their name). */
    this.names = {};
    this.heartbeatMs = null;
    this.rtt = null;
    /** serverTime ≈ Date.now() + clockOffset. */
    this.clockOffset = 0;
    this.attempt = 0;
    this.nextRetryAt = null;
    this.lastClose = null;
    /** Whether the last welcome resumed the table (missed events follow) rather than not. */
    this.resumed = false;

    this._listeners = new Set();
    this._pending = new Map();
    this._rid = 0;
    this._ws = null;
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
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!response.ok || !body || !body.token) {
      const error = (body && body.error) || {
        code: `http_${response.status}`,
        message: response.statusText,
      };
      throw new MaratangError({ ...error, status: response.status, retry: response.status >= 500 });
    }
    this.disconnect();
    this._forgetTable();
    this.token = body.token;
    this.player = body.player;
    this._setStatus('idle');
    this._save(true);
    this._emit('signed-in', this.player);
    return this.player;
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

  /** Open the socket (and keep it open: reconnects until `disconnect()` or a final close). */
  connect() {
    if (!this.token) throw new MaratangError({ code: 'unauthorized', message: 'sign in first' });
    this._wanted = true;
    if (this._ws || this._retryTimer !== null) return;
    this._open();
  }

  disconnect() {
    this._wanted = false;
    this._clearRetry();
    const ws = this._ws;
    if (ws) {
      this._detach('closed by the client');
      try {
        ws.close(1000, 'bye');
      } catch {
        /* already closed */
      }
    }
    if (this.token) this._setStatus('idle');
  }

  /** Skip the backoff wait (e.g. the browser says it is online again). */
  reconnectNow() {
    if (!this._wanted || this._ws) return;
    this._clearRetry();
    this._open();
  }

  get connected() {
    return this._welcomed;
  }

  /** The server's clock now, in ms since the epoch (for `deadline`). */
  serverNow() {
    return Date.now() + this.clockOffset;
  }

  _open() {
    this._clearRetry();
    this._setStatus(this.attempt === 0 && this.lastClose === null ? 'connecting' : 'reconnecting');
    let ws;
    try {
      ws = new this._WebSocket(this.wsUrl, [SUBPROTOCOL]);
    } catch {
      this._scheduleReconnect();
      return;
    }
    this._ws = ws;
    this._welcomed = false;
    ws.onopen = () => {
      if (ws !== this._ws) return;
      const hello = { t: 'hello', token: this.token };
      const seq = this.session ? this.seqs[this.session] : undefined;
      this._resumeSent = null;
      if (this.session && this.state && Number.isInteger(seq)) {
        hello.resume = { session: this.session, seq };
        this._resumeSent = hello.resume;
      }
      this._sendRaw(hello);
    };
    ws.onmessage = (message) => {
      if (ws === this._ws) this._onFrame(message.data);
    };
    ws.onclose = (event) => {
      if (ws === this._ws) this._onClose(event.code, event.reason);
    };
    ws.onerror = () => {
      /* a close event follows */
    };
  }

  /** Stop using the current socket: timers off, waiting requests rejected. */
  _detach(why) {
    this._ws = null;
    this._welcomed = false;
    this._resumeSent = null;
    if (this._heartbeatTimer !== null) clearInterval(this._heartbeatTimer);
    this._heartbeatTimer = null;
    this._pingOutstanding = null;
    const pending = [...this._pending.values()];
    this._pending.clear();
    for (const request of pending) {
      clearTimeout(request.timer);
      request.reject(new MaratangError({ code: 'disconnected', message: why, retry: true }));
    }
  }

  _onClose(code, reason) {
    this.lastClose = { code, reason, at: Date.now() };
    const refused = this._helloRefused;
    this._helloRefused = null;
    this._detach(`socket closed (${code})`);
    this._save(true);
    if (!this._wanted) {
      if (this.token) this._setStatus('idle');
      return;
    }
    if (FINAL_CLOSE_CODES.has(code)) {
      // Unauthorized or abusive: never retry on our own; a fresh sign-in starts over.
      this._wanted = false;
      this.token = null;
      this.player = null;
      this._forgetTable();
      this._save(true);
      this._setStatus('signed-out');
      this._emit('notice', {
        code: code === 4401 ? 'unauthorized' : 'abuse',
        message: (refused && refused.message) || reason || `closed ${code}`,
      });
      return;
    }
    this._scheduleReconnect();
  }

  _scheduleReconnect() {
    let delay = backoffDelay(this.attempt, this._random);
    if (this._byeRetryMs !== null) {
      delay = Math.max(delay, this._byeRetryMs + Math.floor(this._random() * 250));
      this._byeRetryMs = null;
    }
    this.attempt += 1;
    this.nextRetryAt = Date.now() + delay;
    this._setStatus('reconnecting');
    this._emit('retry', { delay, attempt: this.attempt });
    this._retryTimer = setTimeout(() => {
      this._retryTimer = null;
      this.nextRetryAt = null;
      if (this._wanted && !this._ws) this._open();
    }, delay);
  }

  _clearRetry() {
    if (this._retryTimer !== null) clearTimeout(this._retryTimer);
    this._retryTimer = null;
    this.nextRetryAt = null;
  }

  /** Drop a socket that looks dead or inconsistent and resume on a new one. */
  _abandon(why) {
    const ws = this._ws;
    if (!ws) return;
    this._onClose(4000, why);
    try {
      ws.close(4000, why.slice(0, 100));
    } catch {
      /* already closed */
    }
  }

  _sendRaw(message) {
    const ws = this._ws;
    if (!ws || ws.readyState !== 1) return false;
    ws.send(JSON.stringify(message));
    return true;
  }

  // Heartbeat ------------------------------------------------------------------------------

  _startHeartbeat() {
    if (this._heartbeatTimer !== null) clearInterval(this._heartbeatTimer);
    const every = Math.max(1000, this.heartbeatMs || 20000);
    this._heartbeatTimer = setInterval(() => {
      if (this._pingOutstanding !== null) {
        this._abandon('no pong within a heartbeat');
        return;
      }
      this._ping();
    }, every);
    this._ping();
  }

  _ping() {
    const ts = Date.now();
    if (this._sendRaw({ t: 'ping', ts })) this._pingOutstanding = ts;
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

  _onFrame(data) {
    if (typeof data !== 'string') return; // we offered JSON only
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (!message || typeof message.t !== 'string') return;
    switch (message.t) {
      case 'welcome':
        this._onWelcome(message);
        break;
      case 'ack':
        this._settle(message.rid, (request) => request.resolve(message));
        break;
      case 'error':
        this._onError(message);
        break;
      case 'pong':
        this._onPong(message);
        break;
      case 'bye':
        this._byeRetryMs = Number(message.retry_ms) || 0;
        this._emit('notice', { code: 'bye', message: message.reason, retry: true });
        break;
      case 'sync':
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
    this.attempt = 0;
    this.player = message.player;
    this.heartbeatMs = message.heartbeat_ms;
    this._bestRtt = Infinity;
    if (typeof message.server_time === 'number') {
      this.clockOffset = message.server_time - Date.now();
    }
    const asked = this._resumeSent;
    this._resumeSent = null;
    if (asked && message.session !== asked.session) {
      // The table is gone, or we lost the seat: nothing to resume.
      this._forgetTable();
      this._emit('notice', { code: 'resume_failed', message: 'the table is no longer there' });
    }
    this.resumed = Boolean(asked && message.session === asked.session);
    this._setStatus('connected');
    this._startHeartbeat();
    this._save(true);
    this._emit('welcome', { resumed: this.resumed });
  }

  _onError(message) {
    const error = new MaratangError(message);
    if (message.rid !== undefined && message.rid !== null && this._pending.has(message.rid)) {
      this._settle(message.rid, (request) => request.reject(error));
      return;
    }
    if (!this._welcomed) this._helloRefused = error; // the close (4401) that follows says it again
    else this._emit('notice', error);
  }

  _onSync(message) {
    if (message.session !== this.session) {
      this.history = [];
      this.names = {};
      this.seqs = {};
    }
    this.session = message.session;
    this.state = message.state;
    this.seqs[message.session] = message.seq;
    for (const seat of message.state.players || []) this.names[seat.id] = seat.name;
    for (const entry of message.state.ranking || []) this.names[entry.player] = entry.name;
    if (message.state.results && message.state.round) {
      this._remember({
        round: message.state.round,
        customer: message.state.customer,
        results: message.state.results,
        totals: Object.fromEntries(message.state.players.map((seat) => [seat.id, seat.total])),
      });
    }
    this._changed('sync', message);
  }

  _onEvent(event) {
    if (event.session !== this.session || !this.state) return; // not (or no longer) our table
    const last = this.seqs[event.session] ?? 0;
    if (event.seq <= last) return; // a duplicate
    if (event.seq !== last + 1) {
      // The server promises no gaps; if one shows up, resume from what we have.
      this._abandon(`gap in seq: ${last} then ${event.seq}`);
      return;
    }
    this.seqs[event.session] = event.seq;
    this.state = applyEvent(this.state, event);
    switch (event.t) {
      case 'player.joined':
        this.names[event.player.id] = event.player.name;
        break;
      case 'round.resolved':
        this._remember({
          round: event.round,
          customer: this.state.customer,
          results: event.results,
          totals: event.totals,
        });
        break;
      case 'game.started':
        this.history = [];
        break;
      case 'player.left':
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
    this.session = null;
    this.state = null;
    this.seqs = {};
    this.history = [];
    this.names = {};
  }

  // Requests -------------------------------------------------------------------------------

  /**
   * Send command `t` with a fresh `rid`: resolves with the `ack`, rejects with a MaratangError
   * (the server's `error`, or `offline` / `disconnected` / `timeout`). Events the command
   * causes may arrive before or after its ack.
   */
  request(t, fields = {}, { timeout = REQUEST_TIMEOUT_MS } = {}) {
    return new Promise((resolve, reject) => {
      if (!this._welcomed) {
        reject(new MaratangError({ code: 'offline', message: 'not connected', retry: true }));
        return;
      }
      this._rid += 1;
      const rid = `r${this._rid}`;
      const timer = setTimeout(() => {
        this._settle(rid, (request) =>
          request.reject(
            new MaratangError({ code: 'timeout', message: `${t}: no answer`, retry: true, rid }),
          ),
        );
      }, timeout);
      this._pending.set(rid, { resolve, reject, timer, t });
      if (!this._sendRaw({ ...fields, t, rid })) {
        this._settle(rid, (request) =>
          request.reject(new MaratangError({ code: 'offline', message: 'not connected', retry: true })),
        );
      }
    });
  }

  _settle(rid, fn) {
    const request = this._pending.get(rid);
    if (!request) return;
    this._pending.delete(rid);
    clearTimeout(request.timer);
    fn(request);
  }

  createTable(settings = {}) {
    const clean = Object.fromEntries(
      Object.entries(settings).filter(([, value]) => value !== undefined && value !== null),
    );
    return this.request('session.create', Object.keys(clean).length ? { settings: clean } : {});
  }

  joinTable(code) {
    return this.request('session.join', { code: String(code).trim().toUpperCase() });
  }

  changeSettings(settings) {
    return this.request('session.settings', settings);
  }

  startGame() {
    return this.request('game.start');
  }

  /** Submit (or resubmit) this round's bowl; on ack the table's `bowl` is this one. */
  async submitBowl(round, ingredients, spice) {
    const bowl = { ingredients: [...ingredients], spice };
    const ack = await this.request('bowl.submit', { round, ...bowl });
    if (this.state && this.state.round === round && this.state.phase === 'picking') {
      this.state = { ...this.state, bowl };
      this._changed('bowl', bowl);
    }
    return ack;
  }

  /** Give up the seat and forget the table (locally even when the server cannot be told). */
  async leaveTable() {
    try {
      if (this.session && this._welcomed) await this.request('session.leave');
    } catch (error) {
      if (!['not_in_session', 'session_not_found', 'offline', 'disconnected'].includes(error.code)) {
        throw error;
      }
    } finally {
      this._forgetTable();
      this._changed('left', null);
    }
  }

  // Persistence ----------------------------------------------------------------------------

  _restore() {
    if (!this._storage) return;
    let saved = null;
    try {
      saved = JSON.parse(this._storage.getItem(this._storageKey) || 'null');
    } catch {
      saved = null;
    }
    if (!saved || saved.v !== STORE_VERSION || !saved.token) return;
    this.token = saved.token;
    this.player = saved.player ?? null;
    this.status = 'idle';
    if (saved.session && saved.state && Number.isInteger(saved.seqs?.[saved.session])) {
      this.session = saved.session;
      this.state = saved.state;
      this.seqs = { [saved.session]: saved.seqs[saved.session] };
      this.history = Array.isArray(saved.history) ? saved.history : [];
      this.names = saved.names && typeof saved.names === 'object' ? saved.names : {};
    }
  }

  /** Write token, table and seq to storage now (call it on `pagehide`). */
  flush() {
    this._save(true);
  }

  _save(now) {
    if (!this._storage) return;
    if (!now) {
      if (this._saveTimer === null) {
        this._saveTimer = setTimeout(() => this._save(true), SAVE_DELAY_MS);
      }
      return;
    }
    if (this._saveTimer !== null) clearTimeout(this._saveTimer);
    this._saveTimer = null;
    try {
      if (!this.token) {
        this._storage.removeItem(this._storageKey);
        return;
      }
      // Table and seq are written together, so a restored table always matches its seq.
      const seq = this.session ? this.seqs[this.session] : undefined;
      this._storage.setItem(
        this._storageKey,
        JSON.stringify({
          v: STORE_VERSION,
          token: this.token,
          player: this.player,
          session: this.session,
          seqs: this.session && seq !== undefined ? { [this.session]: seq } : {},
          state: this.state,
          history: this.history,
          names: this.names,
        }),
      );
    } catch {
      /* storage full or disabled: resume still works while the page lives */
    }
  }
}
