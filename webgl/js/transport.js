// One WebSocket as the client needs it: open with a subprotocol, text frames in and out, and
// one close report. A new transport serves each connection attempt.

/** A socket that could not be opened. A browser does not tell why (refused or unreachable). */
export class TransportError extends Error {
  constructor(message) {
    super(message);
    this.name = 'TransportError';
  }
}

/** The close code of a socket lost without a close frame (and of `abort()`). */
export const CLOSE_ABNORMAL = 1006;

const OPEN = 1;

export class WebSocketTransport {
  /** @param {Function} [WebSocketImpl] the WebSocket constructor (the browser's by default) */
  constructor(WebSocketImpl = globalThis.WebSocket) {
    this._WebSocket = WebSocketImpl;
    this._ws = null;
    this._end = null;
    /** `(text) => void`: one text frame received. */
    this.onMessage = null;
    /** `(code, reason) => void`: raised once, after the socket opened and then ended. */
    this.onClosed = null;
  }

  /** Open `url` offering `subprotocol`; resolves once open, rejects with TransportError. */
  connect(url, subprotocol) {
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new this._WebSocket(url, [subprotocol]);
      } catch (error) {
        reject(new TransportError(String(error)));
        return;
      }
      let opened = false;
      this._ws = ws;
      this._end = (code, reason) => {
        this._ws = null;
        this._end = null;
        if (opened) this._closed(code, reason);
        else reject(new TransportError(`handshake failed (${code})`));
      };
      ws.onopen = () => {
        opened = true;
        resolve();
      };
      ws.onmessage = ({ data }) => {
        if (typeof data === 'string' && this.onMessage) this.onMessage(data);
      };
      ws.onclose = ({ code, reason }) => {
        if (ws === this._ws) this._end(code, reason);
      };
      ws.onerror = () => {
        /* a close event follows */
      };
    });
  }

  get open() {
    return this._ws !== null && this._ws.readyState === OPEN;
  }

  /** Send one text frame; false when the socket is not open. */
  send(text) {
    if (!this.open) return false;
    this._ws.send(text);
    return true;
  }

  /** Start a close handshake; `onClosed` follows when it completes. */
  close(code, reason = '') {
    if (this._ws) this._ws.close(code, reason.slice(0, 100));
  }

  /** Stop using the socket at once; `onClosed(1006, reason)` is raised before this returns. */
  abort(reason = '') {
    const ws = this._ws;
    if (!ws) return;
    this._end(CLOSE_ABNORMAL, reason);
    try {
      ws.close(4000, reason.slice(0, 100));
    } catch {
      /* already closing */
    }
  }

  _closed(code, reason) {
    const handler = this.onClosed;
    this.onClosed = null;
    this.onMessage = null;
    if (handler) handler(code, reason);
  }
}
