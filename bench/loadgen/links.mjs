// How the load generator's players talk WebSocket: through `ws` (the reference client), or
// through a lean client on `net` that costs the generator less per frame.
//
// Each link calls `player.onFrame(payload, now)` for every data frame (the payload may be a
// view into a shared buffer: decode it before returning) and `player.onClose(code)` once.
//
// The lean link reads a socket as soon as data arrives ("prompt": libuv's read into one
// shared buffer, no stream machinery), or, once made lazy, only when `sweep` is called: the
// frames that arrived meanwhile wait in the kernel and are read in one system call. Reading
// is what a client pays per frame; a lazy socket pays it once per few frames. What the
// server does is the same either way: on loopback its write completes into the kernel's
// receive buffer whether or not the client has read the last frame.

import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";

const READ_BUFFER = Buffer.allocUnsafe(1 << 16);
const SWEEP_BUFFER = Buffer.allocUnsafe(1 << 18);

export class WsLink {
  constructor(player) {
    this.player = player;
  }

  open(url, subprotocol) {
    this.ws = new WebSocket(url, subprotocol, { perMessageDeflate: false, maxPayload: 1 << 22 });
    this.ws.on("message", (data) => this.player.onFrame(data, performance.now()));
    this.ws.on("close", (code) => this.player.onClose(code));
    return new Promise((resolve, reject) => {
      this.ws.once("open", resolve);
      this.ws.once("error", reject);
    });
  }

  send(bytes) {
    this.ws.send(bytes);
  }

  makeLazy() {
    return false; // `ws` reads every socket as data arrives
  }

  close() {
    this.ws.terminate();
  }
}

export class LeanLink {
  constructor(player, errors) {
    this.player = player;
    this.errors = errors;
    this.pending = null;
    this.upgraded = false;
    this.fd = -1;
  }

  open(url, subprotocol) {
    const { hostname, port, pathname } = new URL(url);
    return new Promise((resolve, reject) => {
      this.opened = { resolve, reject };
      const onread = { buffer: READ_BUFFER, callback: (n, buffer) => this.received(buffer.subarray(0, n)) };
      this.socket = net.connect({ host: hostname, port: Number(port), onread });
      this.socket.setNoDelay(true);
      this.socket.on("error", (error) => {
        this.errors.count += 1;
        reject(error);
      });
      this.socket.on("close", () => this.player.onClose(1006));
      const key = randomBytes(16).toString("base64");
      this.socket.write(
        `GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
          `Sec-WebSocket-Protocol: ${subprotocol}\r\n\r\n`,
      );
    });
  }

  received(data) {
    const now = performance.now();
    if (this.pending) {
      data = Buffer.concat([this.pending, data]);
      this.pending = null;
    }
    let at = this.upgraded ? 0 : this.handshake(data);
    if (at < 0) return;
    while (data.length - at >= 2) {
      const opcode = data[at] & 0x0f;
      let length = data[at + 1] & 0x7f;
      let start = at + 2;
      if (length === 126) {
        if (data.length - at < 4) break;
        length = data.readUInt16BE(at + 2);
        start = at + 4;
      } else if (length === 127) {
        if (data.length - at < 10) break;
        length = Number(data.readBigUInt64BE(at + 2));
        start = at + 10;
      }
      if (data.length < start + length) break;
      this.frame(opcode, data.subarray(start, start + length), now);
      at = start + length;
    }
    if (at < data.length) this.pending = Buffer.from(data.subarray(at));
  }

  handshake(data) {
    const end = data.indexOf("\r\n\r\n");
    if (end < 0) {
      this.pending = Buffer.from(data);
      return -1;
    }
    const status = data.toString("latin1", 0, data.indexOf("\r\n"));
    if (!/^HTTP\/1\.1 101/.test(status)) {
      this.opened.reject(new Error(`handshake refused: ${status}`));
      this.socket.destroy();
      return -1;
    }
    this.upgraded = true;
    this.opened.resolve();
    return end + 4;
  }

  frame(opcode, payload, now) {
    if (opcode === 1 || opcode === 2) this.player.onFrame(payload, now);
    else if (opcode === 9) this.write(10, payload);
    else if (opcode === 8) this.player.onClose(payload.length >= 2 ? payload.readUInt16BE(0) : 1005);
    else if (opcode !== 10) this.errors.count += 1; // fragmented: no server here sends them
  }

  send(bytes) {
    this.write(2, bytes);
  }

  write(opcode, payload) {
    const size = payload.length;
    const head = size < 126 ? 2 : size < 65536 ? 4 : 10;
    const out = Buffer.allocUnsafe(head + 4 + size);
    out[0] = 0x80 | opcode;
    if (head === 2) out[1] = 0x80 | size;
    else if (head === 4) {
      out[1] = 0x80 | 126;
      out.writeUInt16BE(size, 2);
    } else {
      out[1] = 0x80 | 127;
      out.writeBigUInt64BE(BigInt(size), 2);
    }
    const mask = (Math.random() * 0x100000000) >>> 0;
    out.writeUInt32BE(mask, head);
    for (let i = 0; i < size; i++) out[head + 4 + i] = payload[i] ^ out[head + (i & 3)];
    this.socket.write(out);
  }

  makeLazy() {
    this.fd = this.socket._handle.fd;
    this.socket.pause(); // libuv stops reading it: `sweep` does
    return true;
  }

  sweep() {
    for (;;) {
      let n;
      try {
        n = fs.readSync(this.fd, SWEEP_BUFFER, 0, SWEEP_BUFFER.length, null);
      } catch (error) {
        if (error.code !== "EAGAIN") this.lost(error);
        return;
      }
      if (n === 0) return this.lost(null);
      this.received(SWEEP_BUFFER.subarray(0, n));
      if (n < SWEEP_BUFFER.length) return;
    }
  }

  lost(error) {
    if (error) this.errors.count += 1;
    this.fd = -1;
    this.player.onClose(1006);
  }

  close() {
    this.socket.destroy();
  }
}
