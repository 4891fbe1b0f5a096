// The socket's life, for MaratangClient (client.js) to build on: open a transport, say
// `hello` (with the resume point the client gives), keep it alive, match answers to commands
// by `rid`, and reconnect with backoff after every close but a terminal one. The Unity SDK
// splits its MaratangClient the same way (MaratangClient.Connection.cs).
//
// The table is the subclass's: it overrides the hooks at the end of this class.

import { command, decodeMessage, encodeMessage, hello } from './codec.js';
import { Heartbeat } from './heartbeat.js';
import { MESSAGE, SUBPROTOCOL_JSON } from './protocol.js';
import { Backoff, MaratangError, PendingRequests, shouldReconnect } from './session.js';
import { CLOSE_ABNORMAL, WebSocketTransport } from './transport.js';

/** The most a `bye`'s wait is stretched, so a whole table does not come back at once. */
const BYE_JITTER_MS = 250;

const offline = () => new MaratangError({ code: 'offline', message: 'not connected', retry: true });

export class Connection {
  /**
   * @param {object} options
   * @param {string} options.wsUrl
   * @param {object} [options.backoff]  Backoff options: base, cap, budget, random
   * @param {Function} [options.transport]  makes a new transport for each attempt
   */
  constructor({ wsUrl, backoff, transport }) {
    this.wsUrl = wsUrl;
    this._makeTransport = transport ?? (() => new WebSocketTransport());
    this.backoff = new Backoff(backoff);

    /** 'signed-out' | 'idle' | 'connecting' | 'connected' | 'reconnecting' */
    this.status = 'signed-out';
    this.token = null;
    this.player = null;
    this.heartbeatMs = null;
    this.nextRetryAt = null;
    this.lastClose = null;
    /** Whether the last welcome resumed the table (missed events follow) rather than not. */
    this.resumed = false;

    this._listeners = new Set();
    this._pending = new PendingRequests();
    this._heartbeat = new Heartbeat({
      ping: (ts) => this._send(command(MESSAGE.PING, null, { ts })),
      dead: () => this._abandon('no pong within a heartbeat'),
    });
    this._transport = null;
    this._welcomed = false;
    this._wanted = false;
    this._resumeSent = null;
    this._retryTimer = null;
    this._byeRetryMs = null;
    this._helloRefused = null;
  }

  /** Reconnect attempts since the last welcome. */
  get attempt() {
    return this.backoff.attempt;
  }

  /** The last round-trip time measured, in ms, or null. */
  get rtt() {
    return this._heartbeat.rtt;
  }

  /** serverTime ≈ Date.now() + clockOffset. */
  get clockOffset() {
    return this._heartbeat.clockOffset;
  }

  /** The server's clock now, in ms since the epoch (for `deadline`). */
  serverNow() {
    return Date.now() + this.clockOffset;
  }

  get connected() {
    return this._welcomed;
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

  // The socket -----------------------------------------------------------------------------

  /**
   * Open the socket and keep it open: reconnects until `disconnect()`, a terminal close, or
   * the retry budget is spent.
   */
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
    this._resumeSent = this._resumePoint();
    this._send(hello(this.token, this._resumeSent));
  }

  /** Stop using the current socket: heartbeat off, waiting requests rejected. */
  _detach(why) {
    this._transport = null;
    this._welcomed = false;
    this._resumeSent = null;
    this._heartbeat.stop();
    this._pending.rejectAll(new MaratangError({ code: 'disconnected', message: why, retry: true }));
  }

  _onClose(code, reason) {
    this.lastClose = { code, reason, at: Date.now() };
    const refused = this._helloRefused;
    this._helloRefused = null;
    this._detach(`socket closed (${code})`);
    this.flush();
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
    this._signedOut();
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
      delay = Math.max(delay, this._byeRetryMs + Math.floor(this.backoff.random() * BYE_JITTER_MS));
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
        if (this._heartbeat.pong(message) !== null) this._emit('pong', this.rtt);
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
    const asked = this._resumeSent;
    this._resumeSent = null;
    this.resumed = Boolean(asked && message.session === asked.session);
    if (asked && !this.resumed) {
      // The table is gone, or we lost the seat: nothing to resume.
      this._resumeFailed();
      this._emit('notice', { code: 'resume_failed', message: 'the table is no longer there' });
    }
    this._setStatus('connected');
    this._heartbeat.start(this.heartbeatMs, message.server_time);
    this.flush();
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

  // Commands -------------------------------------------------------------------------------

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

  // Hooks for the table --------------------------------------------------------------------

  /** Where a new socket resumes from (`{session, seq}`), or null. */
  _resumePoint() {
    return null;
  }

  /** A `sync`: the whole table as of its `seq`. */
  _onSync() {}

  /** A session event (anything with `session` and `seq` that is not a reply). */
  _onEvent() {}

  /** The welcome did not resume the table asked for: the seat is gone. */
  _resumeFailed() {}

  /** A terminal close took the token: only a new sign-in can connect again. */
  _signedOut() {
    this.token = null;
    this.player = null;
    this._setStatus('signed-out');
  }

  /** Keep what a reload needs (now). */
  flush() {}
}
