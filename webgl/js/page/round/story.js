// The story column: tonight's customer, the narration, who has submitted, the last results.

import { client } from '../context.js';
import { h, setText } from '../dom.js';
import { lang, t } from '../i18n.js';
import { narrationPanel } from '../narration.js';
import { seatBadges } from '../parts.js';
import { resultsPanel } from '../results.js';

function customerCard() {
  const name = h('h2', { class: 'customer-name', testid: 'customer-name' });
  const alt = h('p', { class: 'alt' });
  const story = h('p', { class: 'story', testid: 'customer-story' });
  const root = h('section', { class: 'card customer' }, h('p', { class: 'label', text: t('customer') }), name, alt, story);
  return {
    root,
    update(shown) {
      const customer = shown || {};
      const en = lang() === 'en';
      setText(name, (en ? customer.name_en : customer.name) || customer.name || '');
      setText(alt, (en ? customer.name : customer.name_en) || '');
      setText(story, (en ? customer.story_en : customer.story) || customer.story || '');
    },
  };
}

function seatRow(seat, state, picking) {
  const ready = seat.submitted ? `✓ ${t('submittedBadge')}` : t('thinking');
  return h(
    'li',
    { class: `seat ${seat.submitted ? 'done' : ''}` },
    h('span', { class: 'name', text: seat.name }),
    seatBadges(seat, state),
    picking ? h('span', { class: `state ${seat.submitted ? 'ready' : ''}`, text: ready }) : null,
    h('span', { class: 'total', text: t('points', { n: seat.total }) }),
  );
}

export function storyColumn() {
  const customer = customerCard();
  const narration = narrationPanel();
  const seats = h('ul', { class: 'seats compact', testid: 'players' });
  const resultsSlot = h('div', { class: 'results-slot' });
  const root = h(
    'div',
    { class: 'col story-col' },
    customer.root,
    narration.root,
    h('section', { class: 'card' }, h('h3', { text: t('players') }), seats),
    resultsSlot,
  );
  let last = { players: null, host: null, phase: null, entry: null };

  function updateResults(state, picking) {
    const entry = client.history.length ? client.history[client.history.length - 1] : null;
    if (entry === last.entry && state.phase === last.phase) return;
    const current = entry && entry.round === state.round && !picking;
    const title = entry && t(current ? 'resultsTitle' : 'lastResultsTitle', { n: entry.round });
    resultsSlot.replaceChildren(entry ? resultsPanel(entry, title) : '');
    last.entry = entry;
  }

  return {
    root,
    update(state) {
      const picking = state.phase === 'picking';
      customer.update(state.customer);
      narration.update();
      if (state.players !== last.players || state.host !== last.host || state.phase !== last.phase) {
        seats.replaceChildren(...state.players.map((seat) => seatRow(seat, state, picking)));
      }
      updateResults(state, picking);
      last = { ...last, players: state.players, host: state.host, phase: state.phase };
    },
  };
}
