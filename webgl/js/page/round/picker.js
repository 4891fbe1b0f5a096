// Picking a bowl: ingredients by category, a spice level, and the bar that submits the bowl.

import { act, client, schedule, toast, ui } from '../context.js';
import { h, setText } from '../dom.js';
import { lang, localName, t, won } from '../i18n.js';
import { heat, spiceName } from '../parts.js';

function sameBowl(bowl, selected, spice) {
  if (!bowl || bowl.spice !== spice || bowl.ingredients.length !== selected.length) return false;
  const set = new Set(bowl.ingredients);
  return selected.every((id) => set.has(id));
}

/** A new round (or table) starts a new pick, from the bowl already submitted if there is one. */
function resetPickIfNewRound(state) {
  const key = `${client.session}:${state.round}`;
  if (ui.pick.key === key) return;
  ui.pick = {
    key,
    selected: state.bowl ? [...state.bowl.ingredients] : [],
    spice: state.bowl ? state.bowl.spice : null,
  };
}

function picking() {
  return Boolean(client.state) && client.state.phase === 'picking';
}

function toggleIngredient(id, maxBowl) {
  if (!picking()) return;
  const at = ui.pick.selected.indexOf(id);
  if (at >= 0) ui.pick.selected.splice(at, 1);
  else if (ui.pick.selected.length >= maxBowl) {
    toast(t('tooMany', { max: maxBowl }), { kind: 'info', timeout: 2500 });
    return;
  } else ui.pick.selected.push(id);
  schedule();
}

function chooseSpice(level) {
  if (!picking()) return;
  ui.pick.spice = level;
  schedule();
}

function submitBowl() {
  if (!picking()) return;
  const { round } = client.state;
  const { selected, spice } = ui.pick;
  act('submit', () => client.submitBowl(round, [...selected], spice));
}

function ingredientButton(item, maxBowl) {
  return h(
    'button',
    {
      type: 'button',
      class: 'ing',
      testid: `ingredient-${item.id}`,
      'aria-pressed': 'false',
      onclick: () => toggleIngredient(item.id, maxBowl),
    },
    h('span', { class: 'ko', text: item.name }),
    h('span', { class: 'en', text: item.name_en }),
    h('span', { class: 'price', text: won(item.price) }),
  );
}

/** The ingredient grids, one per category, and the buttons by ingredient id. */
function ingredientGroups(catalog, maxBowl) {
  const buttons = new Map();
  const groups = [];
  for (const [category, names] of Object.entries(catalog.categories)) {
    const items = catalog.ingredients.filter((item) => item.category === category);
    if (!items.length) continue;
    const grid = h('div', { class: 'grid' });
    for (const item of items) {
      const button = ingredientButton(item, maxBowl);
      buttons.set(item.id, button);
      grid.append(button);
    }
    const other = lang() === 'en' ? names.name : names.name_en;
    groups.push(h('section', { class: 'cat' }, h('h4', {}, localName(names), ' ', h('small', { text: other })), grid));
  }
  return { groups, buttons };
}

function spiceButton(spice) {
  return h(
    'button',
    {
      type: 'button',
      class: `spice level-${spice.level}`,
      testid: `spice-${spice.level}`,
      'aria-pressed': 'false',
      onclick: () => chooseSpice(spice.level),
    },
    heat(spice.level),
    h('span', { class: 'ko', text: spice.name }),
    h('span', { class: 'en', text: spice.name_en }),
  );
}

/** The bar under the picker: what is in the bowl, what it costs, and the submit button. */
function bowlBar(catalog, [minBowl, maxBowl]) {
  const count = h('span', { class: 'count', testid: 'bowl-count' });
  const price = h('span', { class: 'total', testid: 'bowl-price' });
  const spiceLabel = h('span', { class: 'spice-label' });
  const hint = h('span', { class: 'hint' });
  const submit = h('button', { type: 'button', class: 'primary big', testid: 'submit-bowl', onclick: submitBowl });
  const root = h('div', { class: 'bowlbar' }, h('div', { class: 'summary' }, count, spiceLabel, price, hint), submit);

  function note(selected, spice, done) {
    if (selected.length < minBowl) return t('needMore', { n: minBowl - selected.length });
    if (spice === null) return t('needSpice');
    return done ? t('canResubmit') : '';
  }

  return {
    root,
    update(state, isPicking) {
      const { selected, spice } = ui.pick;
      const total = selected.reduce((sum, id) => sum + (catalog.byId[id] ? catalog.byId[id].price : 0), 0);
      setText(count, t('count', { n: selected.length, max: maxBowl }));
      setText(price, won(total));
      setText(spiceLabel, spice === null ? '' : spiceName(spice));
      const done = sameBowl(state.bowl, selected, spice);
      setText(hint, note(selected, spice, done));
      const busy = ui.busy.has('submit');
      const ready = selected.length >= minBowl && spice !== null;
      submit.disabled = !isPicking || busy || done || !ready || client.status !== 'connected';
      submit.dataset.state = done ? 'submitted' : state.bowl ? 'changed' : 'new';
      setText(submit, busy ? t('sending') : done ? `✓ ${t('submitted')}` : state.bowl ? t('resubmit') : t('submit'));
    },
  };
}

export function pickColumn(catalog) {
  const [minBowl, maxBowl] = catalog.limits.bowl;
  const { groups, buttons } = ingredientGroups(catalog, maxBowl);
  const spiceButtons = catalog.spices.map(spiceButton);
  const tastingNote = h('p', { class: 'tasting-note', text: t('tastingWait') });
  const picker = h(
    'section',
    { class: 'card picker' },
    h('h3', { text: t('pick') }),
    groups,
    h('h3', { text: t('spice') }),
    h('div', { class: 'spices' }, spiceButtons),
    tastingNote,
  );
  const bar = bowlBar(catalog, [minBowl, maxBowl]);
  const root = h('div', { class: 'col pick-col' }, picker, bar.root);
  return {
    root,
    update(state) {
      resetPickIfNewRound(state);
      const isPicking = state.phase === 'picking';
      const { selected, spice } = ui.pick;
      const chosen = new Set(selected);
      for (const [id, button] of buttons) {
        const on = chosen.has(id);
        button.setAttribute('aria-pressed', String(on));
        button.disabled = !isPicking || (!on && selected.length >= maxBowl);
      }
      catalog.spices.forEach(({ level }, i) => {
        spiceButtons[i].setAttribute('aria-pressed', String(level === spice));
        spiceButtons[i].disabled = !isPicking;
      });
      tastingNote.hidden = isPicking;
      bar.root.hidden = !isPicking;
      bar.update(state, isPicking);
    },
  };
}
