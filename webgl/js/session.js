// Session bookkeeping, free of sockets and timers it does not own: the table and the last
// `seq` applied to it, requests waiting for their answer, and when to reconnect.

import { applyEvent, ownBowl } from './reducer.js';
import { MESSAGE, TERMINAL_CLOSES } from './protocol.js';

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

// The table and its seq ------------------------------------------------------------------

/** What became of one session event offered to a LocalTable. */
export const VERDICT = Object.freeze({
  /** The next event in seq order: the view now includes it. */
  APPLIED: 'applied',
  /** Its seq was applied already (a replay after resume): dropped. */
  DUPLICATE: 'duplicate',
  /** It skips ahead: events were lost, resume from the last seq applied. */
  GAP: 'gap',
  /** Not the table this client sits at (or none yet): ignored. */
  ELSEWHERE: 'elsewhere',
});

/**
 * The client's copy of its table: its session id, its view (the TableView wire shape) and
 * the highest `seq` applied to it. A `sync` replaces all three; events apply in `seq` order,
 * exactly once.
 */
export class LocalTable {
  constructor(viewer, { id = null, view = null, seq = null } = {}) {
    this.viewer = viewer;
    this.id = id;
    this.view = view;
    this.seq = seq;
    this._bowls = new Map();
  }

  /** Whether a table is followed and its view is known. */
  get active() {
    return this.id !== null && this.view !== null && Number.isInteger(this.seq);
  }

  /** `sync {session, seq, state}`: the table as of `seq`, whatever was known before. */
  load({ session, seq, state }) {
    if (session !== this.id) this._bowls.clear();
    this.id = session;
    this.view = state;
    this.seq = seq;
  }

  /**
   * Apply one session event when it is the next one (see VERDICT). Event types this version
   * does not know count their seq all the same.
   */
  offer(event) {
    if (!this.active || event.session !== this.id) return VERDICT.ELSEWHERE;
    if (event.seq <= this.seq) return VERDICT.DUPLICATE;
    if (event.seq !== this.seq + 1) return VERDICT.GAP;
    this.seq = event.seq;
    this.view = applyEvent(this.view, event);
    const own = event.t === MESSAGE.BOWL_SUBMITTED && event.player === this.viewer;
    if (own && event.round === this.view.round && this._bowls.has(event.round)) {
      this.view = ownBowl(this.view, this._bowls.get(event.round));
    }
    return VERDICT.APPLIED;
  }

  /** The bowl this player sent for `round`, shown once the server confirms it. */
  rememberBowl(round, bowl) {
    this._bowls.set(round, bowl);
  }

  /** Where to resume from after a dropped socket, or null when nothing can be resumed. */
  get resumePoint() {
    return this.active ? { session: this.id, seq: this.seq } : null;
  }
}

// Requests -------------------------------------------------------------------------------

const REQUEST_TIMEOUT_MS = 15000;

/** Commands waiting for their `ack`, `error` or `pong`, by `rid` (`r1`, `r2`, ...). */
export class PendingRequests {
  constructor({ timeout = REQUEST_TIMEOUT_MS } = {}) {
    this._timeout = timeout;
    this._pending = new Map();
    this._last = 0;
  }

  get size() {
    return this._pending.size;
  }

  /** A fresh `rid` and the promise its answer settles; it rejects with `timeout` when none comes. */
  open(t, { timeout = this._timeout } = {}) {
    this._last += 1;
    const rid = `r${this._last}`;
    const promise = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.reject(rid, new MaratangError({ code: 'timeout', message: `${t}: no answer`, retry: true, rid }));
      }, timeout);
      this._pending.set(rid, { resolve, reject, timer });
    });
    return { rid, promise };
  }

  has(rid) {
    return this._pending.has(rid);
  }

  resolve(rid, value) {
    const request = this._take(rid);
    if (request) request.resolve(value);
  }

  reject(rid, error) {
    const request = this._take(rid);
    if (request) request.reject(error);
  }

  /** Reject every waiting request (the socket they were sent on is gone). */
  rejectAll(error) {
    for (const rid of [...this._pending.keys()]) this.reject(rid, error);
  }

  _take(rid) {
    const request = this._pending.get(rid);
    if (!request) return null;
    this._pending.delete(rid);
    clearTimeout(request.timer);
    return request;
  }
}

// Reconnecting ---------------------------------------------------------------------------

/**
 * Whether a socket that ended with `code` should be reopened: every ending but the terminal
 * closes (4401: sign in again; 4429: abuse). A browser cannot tell a refused handshake (403,
 * 429, 503) from a server out of reach, so both are retried, within the retry budget.
 */
export function shouldReconnect(code) {
  return !TERMINAL_CLOSES.has(code);
}

/**
 * Full-jitter exponential backoff with a retry budget: attempt `n` (from 0) waits a random
 * time in [0, min(cap, base * 2^n)); after `budget` attempts without a `welcome`, give up.
 */
export class Backoff {
  constructor({ base = 500, cap = 15000, budget = 12, random = Math.random } = {}) {
    this.base = base;
    this.cap = cap;
    this.budget = budget;
    this.random = random;
    this.attempt = 0;
  }

  /** The longest wait before attempt `attempt`. */
  ceiling(attempt) {
    return Math.min(this.cap, this.base * 2 ** Math.max(0, attempt));
  }

  /** Whether the budget is spent: no attempt is left until a reset. */
  get exhausted() {
    return this.attempt >= this.budget;
  }

  /** The wait before the next attempt (and count it), or null when the budget is spent. */
  next() {
    if (this.exhausted) return null;
    const delay = Math.floor(this.random() * this.ceiling(this.attempt));
    this.attempt += 1;
    return delay;
  }

  /** A `welcome` came: the next failure starts over from the shortest wait. */
  reset() {
    this.attempt = 0;
  }
}
