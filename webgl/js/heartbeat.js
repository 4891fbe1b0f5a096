// The app-level heartbeat: `ping {ts}` every `heartbeat_ms`, the round-trip time and the
// server's clock from each `pong`, and a dead socket noticed when a ping goes unanswered for a
// whole interval (platforms may hide WebSocket pings, and a socket can die silently).

const DEFAULT_EVERY_MS = 20000;
const MIN_EVERY_MS = 1000;

export class Heartbeat {
  /**
   * @param {object} hooks
   * @param {(ts: number) => boolean} hooks.ping  send `ping {ts}`; false when it could not be sent
   * @param {() => void} hooks.dead  no pong came within an interval
   */
  constructor({ ping, dead }) {
    this._ping = ping;
    this._dead = dead;
    this._timer = null;
    this._outstanding = null;
    this._bestRtt = Infinity;
    this.rtt = null;
    /** serverTime ≈ Date.now() + clockOffset. */
    this.clockOffset = 0;
  }

  /** A `welcome`: take its clock, and ping every `everyMs` from now. */
  start(everyMs, serverTime) {
    this.stop();
    this._bestRtt = Infinity;
    if (typeof serverTime === 'number') this.clockOffset = serverTime - Date.now();
    this._timer = setInterval(() => {
      if (this._outstanding !== null) this._dead();
      else this._send();
    }, Math.max(MIN_EVERY_MS, everyMs || DEFAULT_EVERY_MS));
    this._send();
  }

  stop() {
    if (this._timer !== null) clearInterval(this._timer);
    this._timer = null;
    this._outstanding = null;
  }

  /** A `pong`: the round trip it measured, or null. The fastest round trip sets the clock. */
  pong({ ts, server_time: serverTime }) {
    const rtt = Date.now() - ts;
    if (this._outstanding === ts) this._outstanding = null;
    if (!(rtt >= 0)) return null;
    this.rtt = rtt;
    if (rtt <= this._bestRtt && typeof serverTime === 'number') {
      this._bestRtt = rtt;
      this.clockOffset = serverTime - (ts + rtt / 2);
    }
    return rtt;
  }

  _send() {
    const ts = Date.now();
    if (this._ping(ts)) this._outstanding = ts;
  }
}
