// A stand-in for the server's side of the socket: the client under test gets a FakeTransport
// per connection attempt, and the test plays the server's frames into it.

import { TransportError } from '../transport.js';

export const PLAYER = Object.freeze({ id: 'p_minji', name: '민지' });

/** Resolves the first waiter whose predicate holds. */
class Waiters {
  constructor() {
    this._waiters = [];
  }

  wait(predicate) {
    return new Promise((resolve) => this._waiters.push({ predicate, resolve }));
  }

  offer(value) {
    const at = this._waiters.findIndex(({ predicate }) => predicate(value));
    if (at < 0) return false;
    const [waiter] = this._waiters.splice(at, 1);
    waiter.resolve(value);
    return true;
  }
}

class FakeTransport {
  constructor(server, refuse) {
    this.server = server;
    this.refuse = refuse;
    this.sent = [];
    this.closed = null;
    this.onMessage = null;
    this.onClosed = null;
    this._frames = new Waiters();
    this._unclaimed = [];
  }

  connect(url, subprotocol) {
    this.url = url;
    this.subprotocol = subprotocol;
    if (this.refuse) return Promise.reject(new TransportError('handshake failed (1006)'));
    return Promise.resolve();
  }

  send(text) {
    if (this.closed) return false;
    const message = JSON.parse(text);
    this.sent.push(message);
    if (!this._frames.offer(message)) this._unclaimed.push(message);
    return true;
  }

  /** The next frame of type `t` the client sends (or already sent and nobody took). */
  frame(t) {
    const at = this._unclaimed.findIndex((message) => message.t === t);
    if (at >= 0) return Promise.resolve(this._unclaimed.splice(at, 1)[0]);
    return this._frames.wait((message) => message.t === t);
  }

  /** The server sends `message`. */
  receive(message) {
    this.onMessage(JSON.stringify(message));
  }

  /** The server (or the network) ends the socket. */
  drop(code, reason = '') {
    this.closed = { code, reason };
    this.onClosed(code, reason);
  }

  close(code, reason) {
    this.closed = { code, reason };
  }

  abort(reason) {
    this.drop(1006, reason);
  }
}

/** Every transport the client made, in order; `refusing` makes the next attempts fail. */
export class FakeServer {
  constructor() {
    this.transports = [];
    this.refusing = false;
    this._made = new Waiters();
  }

  factory() {
    return () => {
      const transport = new FakeTransport(this, this.refusing);
      this.transports.push(transport);
      this._made.offer(transport);
      return transport;
    };
  }

  /** The transport of connection attempt `n` (from 1), once the client made it. */
  attempt(n) {
    if (this.transports.length >= n) return Promise.resolve(this.transports[n - 1]);
    return this._made.wait(() => this.transports.length >= n);
  }
}

/** A guest sign-in that always succeeds, without a network. */
export async function fakeFetch() {
  return { ok: true, status: 200, json: async () => ({ token: 'token-minji', player: PLAYER }) };
}

/** Resolves with the first change the client reports that satisfies `predicate`. */
export function until(client, predicate) {
  return new Promise((resolve) => {
    const stop = client.subscribe((change) => {
      if (predicate(change)) {
        stop();
        resolve(change);
      }
    });
  });
}
