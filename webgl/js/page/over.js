// The end of a game (the final ranking, the finale, the score table), and a closed table.

import { client } from './context.js';
import { h } from './dom.js';
import { t } from './i18n.js';
import { narrationPanel } from './narration.js';
import { isMe, newTableButton } from './parts.js';
import { scoreTable } from './results.js';

function rankingRow(entry) {
  return h(
    'li',
    { class: `rank place-${entry.place}`, testid: 'ranking-row' },
    h('span', { class: 'medal', text: String(entry.place) }),
    h(
      'span',
      { class: 'name' },
      entry.name,
      isMe(entry.player) ? h('span', { class: 'badge me', text: t('you') }) : null,
      entry.place === 1 ? h('small', { class: 'crown', text: t('winner') }) : null,
    ),
    h('span', { class: 'total', text: t('points', { n: entry.total }) }),
  );
}

export function overScreen() {
  const ranking = h('ol', { class: 'ranking', testid: 'ranking' });
  const narration = narrationPanel();
  const tableSlot = h('div');
  const root = h(
    'div',
    { class: 'over two' },
    h('section', { class: 'card final' }, h('h2', { text: t('finalTitle') }), ranking, newTableButton()),
    h('div', { class: 'col' }, narration.root, tableSlot),
  );
  let lastRanking = null;
  let lastHistory = null;
  return {
    root,
    update() {
      const state = client.state;
      if (!state) return;
      narration.update();
      const rankingChanged = state.ranking !== lastRanking;
      if (rankingChanged) {
        lastRanking = state.ranking;
        ranking.replaceChildren(...(state.ranking || []).map(rankingRow));
      }
      if (client.history !== lastHistory || rankingChanged) {
        lastHistory = client.history;
        tableSlot.replaceChildren(scoreTable());
      }
    },
  };
}

export function closedScreen() {
  return {
    root: h('section', { class: 'card center stack' }, h('h2', { text: t('closedTitle') }), newTableButton()),
    update() {},
  };
}

export function loadingScreen() {
  return { root: h('section', { class: 'card center' }, h('p', { text: t('loading') })), update() {} };
}
