// A round's results (place, bowl, the rules that scored it) and the game's score table.

import { client } from './context.js';
import { h } from './dom.js';
import { t } from './i18n.js';
import { ingredientName, playerName, spiceName } from './parts.js';

function bowlLine(bowl) {
  if (!bowl) return t('noBowl');
  return `${spiceName(bowl.spice)} · ${bowl.ingredients.map(ingredientName).join(', ')}`;
}

function pointChip({ rule, points }) {
  const sign = rule === 'base' || points < 0 ? '' : '+';
  return h('span', { class: `chip ${points < 0 ? 'minus' : 'plus'}` }, `${t(`rules.${rule}`)} ${sign}${points}`);
}

function resultRow(result, totals) {
  const total = totals && result.player in totals ? t('totalShort', { n: totals[result.player] }) : '';
  return h(
    'li',
    { class: `result place-${result.place}`, testid: 'result-row' },
    h('span', { class: 'place', text: t('place', { n: result.place }) }),
    h(
      'div',
      { class: 'who' },
      h('strong', { text: playerName(result.player) }),
      h('span', { class: 'bowl-line' }, bowlLine(result.bowl)),
      h('span', { class: 'chips' }, (result.breakdown || []).map(pointChip)),
    ),
    h('div', { class: 'score' }, h('b', { text: String(result.score) }), h('small', { text: total })),
  );
}

/** One resolved round (`client.history` entry), best first. */
export function resultsPanel(entry, title) {
  const sorted = [...entry.results].sort((a, b) => a.place - b.place);
  return h(
    'section',
    { class: 'card results', testid: 'results', 'data-round': entry.round },
    h('h3', { text: title }),
    h('ol', { class: 'result-list' }, sorted.map((result) => resultRow(result, entry.totals))),
  );
}

/** Every player (in ranking order) against every round's score, and the totals. */
export function scoreTable() {
  const state = client.state;
  const history = client.history;
  const order = (state.ranking || []).map((entry) => entry.player);
  for (const seat of state.players) if (!order.includes(seat.id)) order.push(seat.id);
  const totals = Object.fromEntries((state.ranking || []).map((entry) => [entry.player, entry.total]));
  const last = history.length ? history[history.length - 1].round : null;
  const head = h(
    'tr',
    {},
    h('th', { text: t('players') }),
    history.map((entry) => h('th', { text: t('roundShort', { n: entry.round }) })),
    h('th', { text: t('sum') }),
  );
  const row = (id) =>
    h(
      'tr',
      { testid: 'result-row' },
      h('th', { text: playerName(id) }),
      history.map((entry) => {
        const result = entry.results.find((r) => r.player === id);
        return h('td', { text: result ? String(result.score) : '–' });
      }),
      h('td', { class: 'sum', text: String(totals[id] ?? '') }),
    );
  return h(
    'section',
    { class: 'card', testid: 'results', 'data-round': last },
    h('h3', { text: t('scoreTable') }),
    h('div', { class: 'table-wrap' }, h('table', { class: 'scores' }, h('thead', {}, head), h('tbody', {}, order.map(row)))),
  );
}
