import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { NarrationPacer, PACE, charactersFrom, nextBoundary } from '../pacer.js';

const FRAME_MS = 16;
const KO = '딸랑, 문이 열리고 손님이 들어옵니다. ';

/** A pacer on a clock only the test moves, and what it showed at every frame. */
function paced(options = {}) {
  const clock = { now: 0 };
  const pacer = new NarrationPacer({ now: () => clock.now, ...options });
  const seen = [];
  return {
    pacer,
    clock,
    seen,
    /** Animation frames for `ms`, as a page runs them while text waits. */
    frames(ms) {
      const until = clock.now + ms;
      while (clock.now < until) {
        clock.now = Math.min(until, clock.now + FRAME_MS);
        pacer.tick();
        seen.push({ at: clock.now, length: pacer.shown.length, stalled: pacer.stalled });
      }
    },
  };
}

function text(n) {
  return KO.repeat(Math.ceil(n / KO.length)).slice(0, n);
}

function steps(seen) {
  return seen.slice(1).map((sample, i) => sample.length - seen[i].length);
}

describe('reading pace', () => {
  test('the defaults are 30 characters a second, a 1.5 s catch-up and a 1.2 s stall', () => {
    assert.deepEqual({ ...PACE }, { charsPerSecond: 30, catchUpMs: 1500, stallMs: 1200 });
  });

  test('text received shows at the base rate, a character or so per frame', () => {
    const { pacer, frames, seen } = paced();
    pacer.receive('r1.entrance', 'entrance', text(40));
    frames(500);
    assert.ok(Math.abs(pacer.shown.length - 15) <= 1, `${pacer.shown.length} after 0.5 s`);
    assert.ok(Math.max(...steps(seen)) <= 1);
    frames(900);
    assert.equal(pacer.shown, text(40));
  });

  test('the shown text never runs ahead of what was received', () => {
    const { pacer, frames, seen } = paced();
    let received = '';
    for (let i = 0; i < 40; i += 1) {
      received = text(received.length + 2); // 2 characters every 200 ms: slower than reading
      pacer.receive('r1.entrance', 'entrance', received);
      frames(200);
      assert.ok(received.startsWith(pacer.shown));
    }
    assert.equal(pacer.shown, received, 'it keeps up with slow text');
    assert.ok(seen.every((sample) => sample.length <= 80));
  });

  test('a burst after a stall is drained faster than the base rate, but smoothly', () => {
    const { pacer, frames, seen } = paced();
    pacer.receive('r1.entrance', 'entrance', text(10));
    frames(2000); // shown, then nothing for a while
    const from = seen.length;
    pacer.receive('r1.entrance', 'entrance', text(160)); // 150 characters in one piece
    frames(100);
    assert.ok(pacer.shown.length < 10 + 20, `${pacer.shown.length}: the burst was not dumped`);
    frames(900);
    assert.ok(pacer.shown.length > 10 + 60, `${pacer.shown.length}: faster than 30/s after 1 s`);
    frames(2600);
    assert.equal(pacer.shown.length, 160, 'caught up within ~3.5 s');
    const burst = steps(seen.slice(from - 1));
    assert.ok(Math.max(...burst) <= 2, `at most 2 characters a frame, saw ${Math.max(...burst)}`);
  });

  test('text that keeps coming faster than reading is shown within about 1.5 s of it', () => {
    const { pacer, frames, clock } = paced();
    let received = '';
    for (let i = 0; i < 20; i += 1) {
      received = text(received.length + 60); // 120 characters a second: four times reading speed
      pacer.receive('r1.entrance', 'entrance', received);
      frames(500);
      const behind = charactersFrom(received, pacer.shown.length);
      assert.ok(behind <= 120 * 1.5 + 60, `at ${clock.now} ms: ${behind} characters behind`);
    }
  });

  test('a stall shows "…" after 1.2 s with everything shown, and ends with new text', () => {
    const { pacer, frames, clock } = paced();
    pacer.receive('r1.entrance', 'entrance', text(6));
    frames(300);
    assert.equal(pacer.shown.length, 6);
    assert.ok(pacer.wakeIn() > 0 && pacer.wakeIn() <= 1200, 'a timer, not frames, waits for it');
    frames(800);
    assert.equal(pacer.stalled, false, 'not yet');
    frames(600);
    assert.equal(pacer.stalled, true, `not stalled at ${clock.now} ms`);
    assert.equal(pacer.wakeIn(), Infinity, 'nothing to do until text arrives');
    pacer.receive('r1.entrance', 'entrance', text(12));
    assert.equal(pacer.stalled, false, 'new text ends it at once');
    frames(400);
    pacer.receive('r1.entrance', 'entrance', text(12), 'llm');
    frames(5000);
    assert.equal(pacer.stalled, false, 'an ended narration never stalls');
    assert.equal(pacer.complete, true);
  });

  test('a narration whose first words are late stalls too', () => {
    const { pacer, frames } = paced();
    pacer.receive('r1.entrance', 'entrance', '');
    frames(1300);
    assert.equal(pacer.stalled, true);
  });

  test('a long backlog is not a stall, however long nothing new arrives', () => {
    const { pacer, frames, seen } = paced({ charsPerSecond: 5, catchUpMs: 60000 });
    pacer.receive('r1.entrance', 'entrance', text(30));
    frames(5000);
    assert.ok(pacer.shown.length < 30);
    assert.ok(seen.every((sample) => !sample.stalled));
  });

  test('the end replaces the buffer and showing goes on at pace to the end', () => {
    const { pacer, frames } = paced();
    pacer.receive('r1.entrance', 'entrance', text(30));
    frames(300);
    const before = pacer.shown.length;
    assert.ok(before > 5 && before < 15);
    pacer.receive('r1.entrance', 'entrance', text(120), 'llm');
    assert.equal(pacer.shown.length, before, 'nothing jumps when the end arrives');
    assert.equal(pacer.complete, false);
    assert.equal(pacer.source, null, 'the source shows once the text is all shown');
    frames(500);
    assert.ok(pacer.shown.length > before && pacer.shown.length < 120);
    frames(4000);
    assert.equal(pacer.shown, text(120));
    assert.equal(pacer.complete, true);
    assert.equal(pacer.source, 'llm');
    assert.equal(pacer.wakeIn(), Infinity, 'complete: no more work');
  });

  test('an end that differs from what was shown keeps only the common start', () => {
    const { pacer, frames } = paced();
    pacer.receive('r1.entrance', 'entrance', '딸랑, 문이 열리고');
    frames(2000);
    pacer.receive('r1.entrance', 'entrance', '딸랑, 문이 닫히고 …', 'mixed');
    assert.equal(pacer.shown, '딸랑, 문이 ');
    frames(2000);
    assert.equal(pacer.shown, '딸랑, 문이 닫히고 …');
  });

  test('a shorter text than was received is old news and changes nothing', () => {
    const { pacer, frames } = paced();
    pacer.receive('r1.entrance', 'entrance', text(20));
    pacer.reveal();
    pacer.receive('r1.entrance', 'entrance', text(12));
    frames(500);
    assert.equal(pacer.shown, text(20));
  });

  test('text told while the player was away shows at once, and what follows is paced', () => {
    const { pacer, frames } = paced();
    const told = { nid: 'r2.tasting', kind: 'tasting', text: text(90) };
    pacer.follow(told, { atOnce: true });
    assert.equal(pacer.shown, text(90));
    assert.equal(pacer.kind, 'tasting');
    pacer.follow({ ...told, text: text(150) });
    frames(200);
    assert.ok(pacer.shown.length > 90 && pacer.shown.length < 110);
    pacer.follow({ ...told, text: text(150), source: 'fallback' }, { atOnce: true });
    assert.equal(pacer.complete, true);
    assert.equal(pacer.source, 'fallback');
  });

  test('a narration that starts before the last is shown waits for it to be told to the end', () => {
    const { pacer, frames } = paced();
    pacer.receive('r1.tasting', 'tasting', text(60), 'llm');
    frames(500);
    pacer.receive('r2.entrance', 'entrance', '');
    pacer.receive('r2.entrance', 'entrance', '새 손님');
    assert.equal(pacer.nid, 'r1.tasting');
    assert.equal(pacer.complete, false);
    frames(2500);
    assert.equal(pacer.nid, 'r2.entrance');
    assert.equal(pacer.kind, 'entrance');
    assert.equal(pacer.shown, '새 손님');
  });

  test('a new narration after a complete one shows at once, empty', () => {
    const { pacer, frames } = paced();
    pacer.receive('r1.tasting', 'tasting', text(10), 'llm');
    frames(1000);
    assert.equal(pacer.complete, true);
    pacer.receive('finale', 'finale', '');
    assert.equal(pacer.nid, 'finale');
    assert.equal(pacer.shown, '');
  });

  test('no narration: nothing shown, nothing to do', () => {
    const { pacer } = paced();
    assert.equal(pacer.wakeIn(), Infinity);
    pacer.receive('r1.entrance', 'entrance', text(10));
    pacer.follow(null);
    assert.equal(pacer.shown, '');
    assert.equal(pacer.nid, null);
    assert.equal(pacer.wakeIn(), Infinity);
  });
});

describe('characters', () => {
  const EMOJI = '😀🍜🌶️👩‍🍳';
  const DECOMPOSED = '한국 국물'.normalize('NFD');
  const segmenter = new Intl.Segmenter('ko', { granularity: 'grapheme' });

  function graphemeEnds(s) {
    return new Set([0, ...[...segmenter.segment(s)].map(({ index, segment }) => index + segment.length)]);
  }

  for (const [name, s] of [
    ['surrogate pairs and emoji sequences', EMOJI.repeat(5)],
    ['decomposed Hangul syllables', DECOMPOSED.repeat(5)],
    ['precomposed Hangul and marks', `${KO}e\u0301`.repeat(3)],
  ]) {
    test(`${name} are never cut`, () => {
      const { pacer, frames, seen } = paced({ charsPerSecond: 20 });
      pacer.receive('r1.entrance', 'entrance', s);
      frames(6000);
      const ends = graphemeEnds(s);
      const cut = seen.map((sample) => sample.length).filter((length) => !ends.has(length));
      assert.deepEqual(cut, []);
      assert.equal(pacer.shown, s);
    });
  }

  test('a character is counted once, whatever its length in UTF-16', () => {
    assert.equal(charactersFrom('😀🍜', 0), 2);
    assert.equal(charactersFrom('한'.normalize('NFD'), 0), 1);
    assert.equal(charactersFrom('👩‍🍳a', 0), 2);
    assert.equal(nextBoundary('😀a', 0), 2);
    assert.equal(charactersFrom('딸랑', 1), 1);
  });

  test('emoji are read at the same pace as letters', () => {
    const { pacer, frames } = paced();
    pacer.receive('r1.entrance', 'entrance', '🍜'.repeat(30));
    frames(500);
    assert.ok(Math.abs(charactersFrom(pacer.shown, 0) - 15) <= 1);
  });
});
