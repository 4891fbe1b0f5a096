// Puts the page in the state Chrome gives a background tab, on demand: `document.hidden` and
// `visibilityState` say so (with a `visibilitychange` event), requestAnimationFrame callbacks
// wait until the page is visible again (Chrome runs none for a hidden page; Unity drives its
// player loop, hence `Update`, from them), and timers fire only on whole-second wake-ups
// (Chrome's throttling of timers in hidden pages for their first five minutes).
// Headless Chromium never hides a page by itself, so the test asks for it here, before any
// other script runs.
"use strict";

const tab = { hidden: false, wakeUps: 0 };
const real = {
  setTimeout: window.setTimeout.bind(window),
  setInterval: window.setInterval.bind(window),
  requestAnimationFrame: window.requestAnimationFrame.bind(window),
};
const heldFrames = [];

const cleared = new Set();

function atNextWakeUp(id, run) {
  real.setTimeout(() => {
    if (cleared.has(id)) return;
    tab.wakeUps += 1;
    run();
  }, 1000 - (Date.now() % 1000));
}

window.setTimeout = (callback, ms, ...args) => {
  const id = real.setTimeout(() => {
    if (!tab.hidden) return callback(...args);
    atNextWakeUp(id, () => callback(...args));
  }, ms);
  return id;
};

window.setInterval = (callback, ms, ...args) => {
  let waiting = false;
  const id = real.setInterval(() => {
    if (!tab.hidden) return callback(...args);
    if (waiting) return;
    waiting = true;
    atNextWakeUp(id, () => {
      waiting = false;
      callback(...args);
    });
  }, ms);
  return id;
};

const realClear = { timeout: window.clearTimeout.bind(window), interval: window.clearInterval.bind(window) };
window.clearTimeout = (id) => {
  cleared.add(id);
  realClear.timeout(id);
};
window.clearInterval = (id) => {
  cleared.add(id);
  realClear.interval(id);
};

window.requestAnimationFrame = (callback) => {
  if (!tab.hidden) return real.requestAnimationFrame(callback);
  heldFrames.push(callback);
  return 0;
};

function setHidden(hidden) {
  tab.hidden = hidden;
  const state = hidden ? "hidden" : "visible";
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
  document.dispatchEvent(new Event("visibilitychange"));
  if (!hidden) for (const callback of heldFrames.splice(0)) real.requestAnimationFrame(callback);
}
