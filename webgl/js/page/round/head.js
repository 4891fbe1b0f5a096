// The round's header: which round of how many, the countdown to the deadline, the join code.

import { client } from '../context.js';
import { h, setText } from '../dom.js';
import { t } from '../i18n.js';

const URGENT_SECONDS = 10;

function clock(secs) {
  return `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, '0')}`;
}

export function roundHead() {
  const roundNumber = h('b', { testid: 'round-number' });
  const roundTotal = h('span');
  const code = h('span', { class: 'code small', testid: 'table-code' });
  const timerText = h('span', { class: 'timer-text', testid: 'timer' });
  const timerFill = h('i');
  const timer = h('div', { class: 'timer' }, timerText, h('div', { class: 'timer-bar' }, timerFill));
  const root = h(
    'div',
    { class: 'round-head' },
    h('span', { class: 'round-label' }, `${t('round')} `, roundNumber, ' / ', roundTotal),
    timer,
    code,
  );

  /** The countdown, redrawn a few times a second. */
  function tick(state) {
    if (state.phase !== 'picking' || !state.deadline) {
      setText(timerText, t('tasting'));
      timer.classList.remove('urgent');
      timerFill.style.width = '0%';
      return;
    }
    const left = Math.max(0, state.deadline - client.serverNow());
    const secs = Math.ceil(left / 1000);
    setText(timerText, clock(secs));
    const span = (state.settings.seconds || 45) * 1000;
    timerFill.style.width = `${Math.min(100, (left / span) * 100).toFixed(1)}%`;
    timer.classList.toggle('urgent', secs <= URGENT_SECONDS);
  }

  return {
    root,
    tick,
    update(state) {
      setText(roundNumber, String(state.round));
      setText(roundTotal, String(state.settings.rounds));
      setText(code, state.code);
      tick(state);
    },
  };
}
