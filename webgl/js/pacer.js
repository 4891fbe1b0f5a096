// Narration at a reading pace. The server sends a narration as it is told, and a model tells it
// in bursts: a stall, then many words at once. The pacer shows what was received at a steady
// rate instead, drains a burst quickly but smoothly (the reader never falls more than about
// `catchUpMs` behind), and says when the story stalls. Client behaviour only: the wire protocol
// promises nothing about timing (docs/reading-pace.md).
//
// Pure logic on an injected clock: `tick()` moves it on, `wakeIn()` says when it next needs a
// tick, and nothing runs in between (page/pace.js drives it with animation frames and a timer).
// The Unity SDK's NarrationPacer (webgl/unity/Runtime/NarrationPacer.cs) is the same machine.

export const PACE = Object.freeze({
  /** Characters shown per second when nothing is waiting behind them (Korean reads ~30/s). */
  charsPerSecond: 30,
  /** A backlog is drained within about this long: rate = max(base, backlog / catch-up). */
  catchUpMs: 1500,
  /** Nothing new and everything shown for this long while the narration streams: stalled. */
  stallMs: 1200,
});

const ZWJ = 0x200d;
const MARK = /^\p{M}/u;

/** Code points that belong to the character before them: combining marks, the vowel and final
 * jamo of a decomposed Hangul syllable. */
function joinsPrevious(text, i) {
  const cp = text.codePointAt(i);
  return (cp >= 0x1160 && cp <= 0x11ff) || (cp >= 0xd7b0 && cp <= 0xd7ff) || MARK.test(text.slice(i, i + 2));
}

function codePointEnd(text, i) {
  return i + (text.codePointAt(i) > 0xffff ? 2 : 1);
}

/**
 * The index just past the visible character that starts at `i`: one code point (a surrogate
 * pair is one), with the marks, jamo and ZWJ-joined code points after it. The shown text only
 * ever ends at such an index, so no half of a pair or of a syllable reaches the screen.
 */
export function nextBoundary(text, i) {
  let j = codePointEnd(text, i);
  while (j < text.length) {
    if (text.charCodeAt(j) === ZWJ) j = j + 1 < text.length ? codePointEnd(text, j + 1) : j + 1;
    else if (joinsPrevious(text, j)) j = codePointEnd(text, j);
    else break;
  }
  return j;
}

/** How many visible characters `text` has from index `i` on. */
export function charactersFrom(text, i) {
  let count = 0;
  for (let j = i; j < text.length; j = nextBoundary(text, j)) count += 1;
  return count;
}

/** The last character boundary of `text` at or before `limit`. */
function boundaryAtOrBefore(text, limit) {
  let i = 0;
  while (i < text.length) {
    const next = nextBoundary(text, i);
    if (next > limit) break;
    i = next;
  }
  return i;
}

function sharedPrefix(a, b) {
  let i = 0;
  while (i < a.length && i < b.length && a.charCodeAt(i) === b.charCodeAt(i)) i += 1;
  return i;
}

/** One narration as received: its text so far, and its source once it ended. */
class Told {
  constructor(nid, kind) {
    this.nid = nid;
    this.kind = kind;
    this.text = '';
    this.source = null;
    this.ended = false;
  }
}

export class NarrationPacer {
  /**
   * @param {object} [options]
   * @param {() => number} [options.now]  the clock, in ms (default: performance.now)
   * @param {number} [options.charsPerSecond]
   * @param {number} [options.catchUpMs]
   * @param {number} [options.stallMs]
   */
  constructor({ now, charsPerSecond, catchUpMs, stallMs } = {}) {
    this._now = now ?? (() => globalThis.performance.now());
    this.charsPerSecond = charsPerSecond ?? PACE.charsPerSecond;
    this.catchUpMs = catchUpMs ?? PACE.catchUpMs;
    this.stallMs = stallMs ?? PACE.stallMs;
    /** The narration being shown first, then any that started before it was shown in full. */
    this._told = [];
    this._shown = 0;
    this._left = 0;
    this._credit = 0;
    this._last = 0;
    this._waitingSince = 0;
    this._stalled = false;
  }

  // What to show ---------------------------------------------------------------------------

  get nid() {
    return this._current ? this._current.nid : null;
  }

  get kind() {
    return this._current ? this._current.kind : null;
  }

  /** The text to show now: a prefix of what was received, cut between characters. */
  get shown() {
    return this._current ? this._current.text.slice(0, this._shown) : '';
  }

  /** Who told the narration, once it is complete (else null). */
  get source() {
    return this.complete ? this._current.source : null;
  }

  /** The narration ended and every character of it is shown. */
  get complete() {
    const told = this._current;
    return Boolean(told) && told.ended && this._shown === told.text.length && this._told.length === 1;
  }

  /** Streaming, everything received shown, and nothing new for `stallMs`: show "…". */
  get stalled() {
    return this._stalled;
  }

  get _current() {
    return this._told.length ? this._told[0] : null;
  }

  // What was received ----------------------------------------------------------------------

  /**
   * Follow a NarrationView (`{nid, kind, text, source?}`, the table's narration) or null.
   * `atOnce`: the text was told while this player was not there (a `sync`, a resume, a page
   * restored from storage), so it is shown at once and only what comes after it is paced.
   */
  follow(narration, { atOnce = false } = {}) {
    if (!narration) this.clear();
    else this.receive(narration.nid, narration.kind, narration.text || '', narration.source || null);
    if (atOnce) this.reveal();
  }

  /**
   * Narration `nid` has told `text` so far (`source` once it ended: then `text` is all of it).
   * A shorter text than was received before is old news and changes nothing; only the end
   * may replace the text with another.
   */
  receive(nid, kind, text, source = null) {
    const now = this._now();
    let told = this._told.find((each) => each.nid === nid);
    if (!told) told = this._begin(nid, kind, now);
    if (told.text !== text && (source || !told.text.startsWith(text))) {
      if (told === this._current) this._replaceText(text, now);
      else told.text = text;
    }
    if (source) {
      told.source = source;
      told.ended = true;
    }
    this._settle(now);
  }

  /** Show everything received at once: only what arrives after this is paced. */
  reveal() {
    const now = this._now();
    this._told.splice(0, this._told.length - 1);
    const told = this._current;
    if (!told) return;
    this._shown = told.text.length;
    this._caughtUp(now);
    this._settle(now);
  }

  clear() {
    this._told = [];
    this._shown = 0;
    this._left = 0;
    this._stalled = false;
  }

  _begin(nid, kind, now) {
    const previous = this._told[this._told.length - 1];
    if (previous) previous.ended = true; // a new one started: the server tells nothing more of it
    const told = new Told(nid, kind);
    this._told.push(told);
    if (this._told.length === 1) this._restart(now);
    return told;
  }

  _replaceText(text, now) {
    const told = this._current;
    if (!text.startsWith(told.text.slice(0, this._shown))) {
      this._shown = boundaryAtOrBefore(text, sharedPrefix(text, told.text.slice(0, this._shown)));
    }
    const idle = this._left === 0;
    told.text = text;
    this._left = charactersFrom(text, this._shown);
    if (idle) this._last = now; // the pace starts now, not when the text ran out
  }

  // Time -----------------------------------------------------------------------------------

  /** Move on to now; true when what is shown (text, stall, narration) changed. */
  tick() {
    const now = this._now();
    const before = [this._current, this._shown, this._stalled, this.complete];
    if (this._left > 0) this._advance(now);
    else this._last = now;
    this._settle(now);
    const after = [this._current, this._shown, this._stalled, this.complete];
    return before.some((value, i) => value !== after[i]);
  }

  /** Milliseconds until `tick()` has something to do: 0 (every frame), a wait, or Infinity. */
  wakeIn() {
    const told = this._current;
    if (!told) return Infinity;
    if (this._left > 0 || this._told.length > 1) return 0;
    if (told.ended || this._stalled) return Infinity;
    return Math.max(0, this._waitingSince + this.stallMs - this._now());
  }

  _advance(now) {
    const seconds = Math.max(0, now - this._last) / 1000;
    this._last = now;
    const rate = Math.max(this.charsPerSecond, this._left / (this.catchUpMs / 1000));
    this._credit += rate * seconds;
    const steps = Math.min(this._left, Math.floor(this._credit));
    const text = this._current.text;
    for (let i = 0; i < steps; i += 1) this._shown = nextBoundary(text, this._shown);
    this._credit -= steps;
    this._left -= steps;
    if (this._left === 0) this._caughtUp(now);
  }

  /** Everything received is shown: no credit is saved up for a burst, and a stall may begin. */
  _caughtUp(now) {
    this._left = 0;
    this._credit = 0;
    this._waitingSince = now;
  }

  _restart(now) {
    this._shown = 0;
    this._left = charactersFrom(this._current.text, 0);
    this._credit = 0;
    this._last = now;
    this._waitingSince = now;
  }

  /** Go on to the next narration once this one is shown in full; update the stall. */
  _settle(now) {
    while (this._told.length > 1 && this._left === 0 && this._shown === this._current.text.length) {
      this._told.shift();
      this._restart(now);
    }
    const told = this._current;
    this._stalled =
      Boolean(told) && !told.ended && this._left === 0 && now - this._waitingSince >= this.stallMs;
  }
}
