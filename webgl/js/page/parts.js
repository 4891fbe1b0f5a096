// Small pieces several screens draw: names, badges, the heat meter, radio groups, buttons.

import { act, client, ui } from './context.js';
import { h } from './dom.js';
import { localName, t } from './i18n.js';

export function playerName(id) {
  return client.names[id] || id;
}

export function ingredientName(id) {
  const item = ui.catalog && ui.catalog.byId[id];
  return item ? localName(item) : id;
}

export function spiceName(level) {
  const spice = ui.catalog && ui.catalog.spices.find((s) => s.level === level);
  return spice ? localName(spice) : String(level);
}

export function isMe(id) {
  return Boolean(client.player) && id === client.player.id;
}

export function seatBadges(seat, state) {
  return [
    seat.id === state.host ? h('span', { class: 'badge host', text: t('host') }) : null,
    isMe(seat.id) ? h('span', { class: 'badge me', text: t('you') }) : null,
    seat.away ? h('span', { class: 'badge away', text: t('away') }) : null,
  ];
}

export function heat(level) {
  return h(
    'span',
    { class: 'heat', 'aria-hidden': 'true' },
    [0, 1, 2, 3].map((i) => h('i', { class: i < level ? 'on' : '' })),
  );
}

/** A radio group of `[value, label]` options. */
export function segmented(name, options, value, testPrefix) {
  const group = h('div', { class: 'segmented', role: 'radiogroup' });
  for (const [key, label] of options) {
    const id = `${name}-${key}`;
    group.append(
      h('input', {
        type: 'radio',
        name,
        id,
        value: key,
        checked: key === value,
        testid: testPrefix ? `${testPrefix}-${key}` : null,
      }),
      h('label', { for: id, text: label }),
    );
  }
  return group;
}

/** The narration languages as options: each named in its own language. */
export function langOptions() {
  return [
    ['ko', t('langNames.ko')],
    ['en', t('langNames.en')],
  ];
}

export function newTableButton() {
  return h('button', {
    class: 'primary big',
    type: 'button',
    testid: 'new-table',
    text: t('newTable'),
    onclick: () => act('leave', () => client.leaveTable()),
  });
}

/** An integer from a number input, or undefined when it holds none. */
export function numberIn(input) {
  const value = Number.parseInt(input.value, 10);
  return Number.isFinite(value) ? value : undefined;
}
