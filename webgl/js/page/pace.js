// The narration at reading pace (../pacer.js) on the page. One pacer for the whole page, since
// screens come and go (a round ends, the game is over, the language changes) while the story
// goes on. It follows every change of the client's table; it runs on animation frames while
// received text waits to be shown, on one timer while a stall may begin, and not at all otherwise.

import { NarrationPacer } from '../pacer.js';
import { client } from './context.js';

/** After a welcome that resumed the table, the missed events arrive at once: text in them was
 * told while the player was away, so it is shown at once rather than paced. */
const RESUME_CATCH_UP_MS = 300;

export const pacer = new NarrationPacer();
const panels = new Set();
let frame = null;
let timer = null;
let resumedUntil = -Infinity;

/** `panel.draw()` runs whenever what the pacer shows changes, while `panel.root` is on the page. */
export function watchPace(panel) {
  panels.add(panel);
}

function draw() {
  for (const panel of panels) {
    if (panel.root.isConnected) panel.draw();
    else panels.delete(panel);
  }
}

function wake() {
  if (frame !== null) cancelAnimationFrame(frame);
  if (timer !== null) clearTimeout(timer);
  frame = timer = null;
  const wait = pacer.wakeIn();
  if (wait === 0) frame = requestAnimationFrame(step);
  else if (Number.isFinite(wait)) timer = setTimeout(step, wait);
}

function step() {
  frame = timer = null;
  if (pacer.tick()) draw();
  wake();
}

function follow({ reason, detail }) {
  if (reason === 'welcome' && detail && detail.resumed) {
    resumedUntil = performance.now() + RESUME_CATCH_UP_MS;
  }
  const missed = reason === 'sync' || performance.now() < resumedUntil;
  const state = client.state;
  pacer.follow(state ? state.narration : null, { atOnce: missed });
  draw();
  wake();
}

// A table restored from storage (a reload) was told before this page: shown at once.
pacer.follow(client.state ? client.state.narration : null, { atOnce: true });
client.subscribe(follow);
