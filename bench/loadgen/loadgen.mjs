// The load generator of bench/token_fanout.py: every player of every room in one Node process
// (MessagePack frames, every one decoded), so that it costs far less per frame than the
// server it measures.
//
//   node loadgen.mjs '<json config>'     (the orchestrator starts it; see token_fanout.py)
//
// Config: kind ("baseline" | "maratang"), url (http://127.0.0.1:PORT), rooms, players, tps,
// warmup and seconds (s), pingMs, spreadMs, mode ("load" | "idle"), firstRooms (idle mode),
// concurrency, client ("lean" | "ws"), lazyMs. It says what it does on stdout, one line each:
// "SEATED <sockets>", "WINDOW START", "WINDOW END", "RESULT <json>", "FAILED <reason>"; in
// idle mode it waits for a line on stdin after each "SEATED".
//
// In each room one player is the watcher (player room % players, so every seat position is
// watched somewhere): its socket is read as soon as data arrives, it gives the latencies and
// it pings. With the lean client (links.mjs) the other sockets are read every lazyMs, which
// costs the generator one read for several frames; their frames count for delivery and loss
// but not for latency. With `ws` every socket is read at once and gives latencies.
//
// Latency of a narration token (the same definition for both servers): token i of a
// narration (counted per socket, from the narration's first delta) is due at t0 + i / tps.
// Its raw lateness is arrival - i / tps; t0 is unknown, so the smallest raw lateness of the
// narration in the room is subtracted. A token is thus "late" by how much later it came than
// the best-served token of its narration: what queues anywhere in the server (the narrator's
// wake-ups, commits, fan-out, socket writes) shows, a delay shared by every token of a
// narration does not. The baseline also stamps each frame with the time it was due (`ts`),
// which gives the true latency as a cross-check.

import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { Decoder, Encoder } from "@msgpack/msgpack";
import { LeanLink, WsLink } from "./links.mjs";

const cfg = JSON.parse(process.argv[2]);
const SUBPROTOCOL = "maratang.v1.msgpack";
const TOKEN_MS = 1000 / cfg.tps;
const BOWL = ["bok_choy", "enoki", "beef", "fish_balls"];
const decoder = new Decoder();
const encoder = new Encoder();
const say = (line) => process.stdout.write(`${line}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// How many tokens a delta carries: llm/fallback.py cuts text into words, and words longer
// than two characters into pieces of two; every delta is made of whole pieces.
const WORD = /\S+\s*|\s+/gu;
function countTokens(text) {
  let count = 0;
  for (const match of text.matchAll(WORD)) {
    const core = match[0].trimEnd();
    const length = core.length > 2 ? [...core].length : core.length;
    count += length <= 2 ? 1 : Math.ceil(length / 2);
  }
  return count;
}

class Samples {
  constructor() {
    this.values = new Float64Array(1 << 16);
    this.keys = new Int32Array(1 << 16);
    this.size = 0;
  }

  push(value, key = 0) {
    if (this.size === this.values.length) {
      const values = new Float64Array(this.size * 2);
      const keys = new Int32Array(this.size * 2);
      values.set(this.values);
      keys.set(this.keys);
      this.values = values;
      this.keys = keys;
    }
    this.values[this.size] = value;
    this.keys[this.size++] = key;
  }

  percentiles(offsets) {
    const sorted = this.values.slice(0, this.size);
    if (offsets) for (let i = 0; i < sorted.length; i++) sorted[i] -= offsets[this.keys[i]];
    sorted.sort();
    const at = (q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null);
    return { n: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted.length ? sorted[sorted.length - 1] : null };
  }
}

const stats = {
  counting: false,
  delivered: 0, // seq'd events received in the window, every socket
  deltas: 0,
  tokens: 0,
  deltaBytes: 0,
  gaps: 0,
  duplicates: 0,
  resyncs: 0,
  closed: 0,
  closeCodes: {},
  errors: { count: 0 }, // refusals that retrying would not help, failed sockets
  refused: {}, // refusals that say retrying helps, by code
  miscounted: 0, // narrations whose deltas' token count differs from their end text's
  lateness: new Samples(),
  stamped: new Samples(),
  rtts: new Samples(),
};
const narrationMin = []; // per narration key: the smallest raw lateness seen
const lazyLinks = [];

class Room {
  constructor(n) {
    this.n = n;
    this.players = [];
    this.narrations = new Map();
    const letters = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    this.name = "s_" + Array.from({ length: 12 }, (_, i) => letters[(n * 7919 + i * 104729) % letters.length]).join("");
  }

  get host() {
    return this.players[0];
  }

  get watcher() {
    return this.players[this.n % this.players.length];
  }

  narrationKey(nid) {
    let key = this.narrations.get(nid);
    if (key === undefined) {
      key = narrationMin.length;
      narrationMin.push(Infinity);
      this.narrations.set(nid, key);
    }
    return key;
  }
}

class Player {
  constructor(room, seat) {
    this.room = room;
    this.watching = seat === room.n % cfg.players;
    this.link = cfg.client === "ws" ? new WsLink(this) : new LeanLink(this, stats.errors);
    this.timed = true; // read as data arrives: its arrival times are latencies
    this.lastSeq = -1;
    this.nid = null;
    this.key = -1;
    this.told = 0;
    this.round = 0;
    this.rid = 0;
    this.replies = new Map();
    this.welcome = null;
    this.ending = false;
    this.closed = false;
  }

  open() {
    return this.link.open(cfg.url.replace(/^http/, "ws") + "/ws", SUBPROTOCOL);
  }

  makeLazy() {
    if (!this.watching && this.link.makeLazy()) {
      this.timed = false;
      lazyLinks.push(this.link);
    }
  }

  onClose(code) {
    if (this.ending || this.closed) return;
    this.closed = true;
    stats.closed += 1;
    stats.closeCodes[code] = (stats.closeCodes[code] || 0) + 1;
    for (const reply of this.replies.values()) reply.reject(new Error(`socket closed (${code})`));
  }

  send(message) {
    this.link.send(encoder.encode(message));
  }

  request(t, fields = {}) {
    this.rid += 1;
    const rid = this.rid;
    return new Promise((resolve, reject) => {
      this.replies.set(rid, { resolve, reject });
      this.send({ t, rid, ...fields });
    });
  }

  onFrame(data, now) {
    const m = decoder.decode(data);
    const t = m.t;
    if (m.seq !== undefined && t !== "sync") {
      this.onEvent(m, t, now, data.length);
    } else if (t === "pong") {
      if (stats.counting) stats.rtts.push(now - m.ts);
    } else if (t === "sync") {
      if (this.lastSeq >= 0) stats.resyncs += 1;
      this.lastSeq = m.seq;
    } else if (t === "ack" || t === "error") {
      this.onReply(m, t);
    } else if (t === "welcome" && this.welcome) {
      this.welcome();
    }
  }

  onReply(m, t) {
    if (t === "error" && m.retry) stats.refused[m.code] = (stats.refused[m.code] || 0) + 1;
    const reply = this.replies.get(m.rid);
    if (reply) {
      this.replies.delete(m.rid);
      if (t === "ack") reply.resolve(m);
      else reply.reject(Object.assign(new Error(`${m.code}: ${m.message}`), { retry: m.retry }));
    } else if (t === "error") {
      stats.errors.count += 1;
    }
  }

  onEvent(m, t, now, size) {
    if (this.lastSeq >= 0) {
      if (m.seq <= this.lastSeq) stats.duplicates += 1;
      else if (m.seq !== this.lastSeq + 1) stats.gaps += 1;
    }
    if (m.seq > this.lastSeq) this.lastSeq = m.seq;
    if (stats.counting) stats.delivered += 1;
    if (t === "narration.delta") this.onTokens(m, now, size);
    else if (t === "narration.end") this.onEnd(m);
    else if (t === "round.started") {
      // The watcher's bowl goes in when the entrance ends, the others' at once: the round
      // closes as the entrance ends, so narrations follow one another back to back.
      this.round = m.round;
      if (!this.watching) this.submit();
    }
  }

  submit(attempt = 0) {
    // A refusal that says retrying helps (`busy`: the table was contended) is retried, as a
    // client would; it is counted among the refusals, not the errors.
    const bowl = { round: this.round, ingredients: BOWL, spice: 2 };
    this.request("bowl.submit", bowl).catch((error) => {
      if (this.ending || this.closed) return;
      if (error.retry && attempt < 10) setTimeout(() => this.submit(attempt + 1), 20);
      else stats.errors.count += 1;
    });
  }

  onEnd(m) {
    // The deltas' tokens must add up to the whole text's, or the latencies are misplaced.
    if (m.nid === this.nid && this.told !== countTokens(m.text)) stats.miscounted += 1;
    if (this.watching && m.nid.endsWith(".entrance")) this.submit();
  }

  onTokens(m, now, size) {
    if (m.nid !== this.nid) {
      this.nid = m.nid;
      this.key = this.room.narrationKey(m.nid);
      this.told = 0;
    }
    const count = countTokens(m.text);
    if (this.timed) this.timeTokens(count, now);
    this.told += count;
    if (stats.counting) {
      stats.deltas += 1;
      stats.tokens += count;
      stats.deltaBytes += size;
      if (this.timed && m.ts !== undefined) stats.stamped.push(performance.timeOrigin + now - m.ts * 1000);
    }
  }

  timeTokens(count, now) {
    let least = narrationMin[this.key];
    for (let i = 0; i < count; i++) {
      const raw = now - (this.told + i) * TOKEN_MS;
      if (raw < least) least = raw;
      if (stats.counting) stats.lateness.push(raw, this.key);
    }
    narrationMin[this.key] = least;
  }
}

async function signIn(name) {
  const answer = await fetch(`${cfg.url}/api/auth/guest`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name }),
  });
  if (!answer.ok) throw new Error(`sign-in refused: HTTP ${answer.status}`);
  return (await answer.json()).token;
}

async function seatMaratang(room) {
  for (let seat = 0; seat < cfg.players; seat++) {
    const player = new Player(room, seat);
    const token = await signIn(`r${room.n}p${seat}`);
    await player.open();
    await new Promise((resolve) => {
      player.welcome = resolve;
      player.send({ t: "hello", token });
    });
    room.players.push(player);
  }
  const [host, ...others] = room.players;
  const { code } = await host.request("session.create", { settings: { rounds: 10, seconds: 120 } });
  for (const player of others) await player.request("session.join", { code });
}

async function seatBaseline(room) {
  for (let seat = 0; seat < cfg.players; seat++) {
    const player = new Player(room, seat);
    await player.open();
    await player.request("join", { room: room.name });
    room.players.push(player);
  }
}

async function seat(rooms) {
  const queue = [...rooms];
  const seatOne = cfg.kind === "baseline" ? seatBaseline : seatMaratang;
  const worker = async () => {
    while (queue.length) await seatOne(queue.shift());
  };
  await Promise.all(Array.from({ length: cfg.concurrency }, worker));
}

function start(rooms) {
  for (const room of rooms) for (const player of room.players) player.makeLazy();
  if (lazyLinks.length) {
    setInterval(() => {
      for (const link of lazyLinks) if (link.fd >= 0) link.sweep();
    }, cfg.lazyMs);
  }
  // Narrations start spread over spreadMs, so the rooms' tokens are not due all at once.
  rooms.forEach((room, i) => {
    setTimeout(() => {
      if (cfg.kind === "baseline") room.host.send({ t: "start" });
      else room.host.request("game.start").catch(() => (stats.errors.count += 1));
    }, (i * cfg.spreadMs) / rooms.length);
  });
}

function ping(watchers) {
  // Each watcher pings every pingMs; the watchers are spread over the interval.
  const ticks = 10;
  let tick = 0;
  return setInterval(() => {
    for (let i = tick; i < watchers.length; i += ticks) watchers[i].send({ t: "ping", ts: performance.now() });
    tick = (tick + 1) % ticks;
  }, cfg.pingMs / ticks);
}

function lines() {
  const queue = [];
  const waiting = [];
  createInterface({ input: process.stdin }).on("line", (line) => {
    if (waiting.length) waiting.shift()(line);
    else queue.push(line);
  });
  return () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiting.push(resolve)));
}

async function idle(rooms) {
  const next = lines();
  const first = rooms.slice(0, cfg.firstRooms);
  await seat(first);
  say(`SEATED ${first.length * cfg.players}`);
  await next();
  await seat(rooms.slice(cfg.firstRooms));
  say(`SEATED ${rooms.length * cfg.players}`);
  await next();
}

async function load(rooms) {
  await seat(rooms);
  say(`SEATED ${rooms.length * cfg.players}`);
  start(rooms);
  const pinger = ping(rooms.map((room) => room.watcher));
  await sleep(cfg.warmup * 1000 + cfg.spreadMs);
  const cpu = process.cpuUsage();
  const loop = performance.eventLoopUtilization();
  const began = performance.now();
  stats.counting = true;
  say("WINDOW START");
  await sleep(cfg.seconds * 1000);
  stats.counting = false;
  const window = (performance.now() - began) / 1000;
  const used = process.cpuUsage(cpu);
  const busy = performance.eventLoopUtilization(loop).utilization;
  say("WINDOW END");
  clearInterval(pinger);
  say(`RESULT ${JSON.stringify(result(rooms, window, used, busy))}`);
}

function result(rooms, window, used, busy) {
  const sockets = rooms.length * cfg.players;
  return {
    client: cfg.client,
    window_s: window,
    sockets,
    timed_sockets: sockets - lazyLinks.length,
    delivered_per_s: stats.delivered / window,
    deltas_per_s: stats.deltas / window,
    tokens_per_s: stats.tokens / window,
    share: stats.tokens / (sockets * cfg.tps * window),
    delta_bytes: stats.deltas ? stats.deltaBytes / stats.deltas : null,
    gaps: stats.gaps,
    duplicates: stats.duplicates,
    resyncs: stats.resyncs,
    closed: stats.closed,
    close_codes: stats.closeCodes,
    errors: stats.errors.count,
    refused: stats.refused,
    miscounted: stats.miscounted,
    lateness_ms: stats.lateness.percentiles(Float64Array.from(narrationMin)),
    stamped_ms: stats.stamped.size ? stats.stamped.percentiles() : null,
    rtt_ms: stats.rtts.percentiles(),
    generator_cpu: (used.user + used.system) / 1e6 / window,
    generator_us_per_frame: stats.delivered ? (used.user + used.system) / stats.delivered : null,
    generator_loop_busy: busy,
  };
}

async function main() {
  const rooms = Array.from({ length: cfg.rooms }, (_, n) => new Room(n));
  try {
    await (cfg.mode === "idle" ? idle(rooms) : load(rooms));
  } catch (error) {
    say(`FAILED ${error.message}`);
    process.exitCode = 1;
  }
  for (const room of rooms) {
    for (const player of room.players) {
      player.ending = true;
      player.link.close();
    }
  }
  process.exit();
}

main();
