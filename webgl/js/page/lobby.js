// The lobby: the join code to share, who is seated, the host's settings and start button.

import { LIMITS } from '../protocol.js';
import { act, client, toast, ui } from './context.js';
import { h, setText } from './dom.js';
import { t } from './i18n.js';
import { isMe, langOptions, numberIn, seatBadges } from './parts.js';

function codeCard(code) {
  const copy = h('button', {
    class: 'ghost small',
    type: 'button',
    text: t('copy'),
    onclick: () => {
      const text = client.state ? client.state.code : '';
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          () => toast(t('copied'), { kind: 'info', timeout: 2000 }),
          () => {},
        );
      }
    },
  });
  return h(
    'section',
    { class: 'card code-card' },
    h('p', { class: 'label', text: t('tableCode') }),
    code,
    h('p', { class: 'muted' }, t('shareCode'), ' ', copy),
  );
}

/** The host's settings: each input sends its change on its own. */
function settingsInputs() {
  const rounds = h('input', {
    type: 'number',
    min: LIMITS.ROUNDS[0],
    max: LIMITS.ROUNDS[1],
    testid: 'rounds-input',
    'data-field': 'rounds',
  });
  const seconds = h('input', {
    type: 'number',
    min: LIMITS.SECONDS[0],
    max: LIMITS.SECONDS[1],
    step: 5,
    testid: 'seconds-input',
    'data-field': 'seconds',
  });
  const lang = h(
    'select',
    { testid: 'lang-select', 'data-field': 'lang' },
    langOptions().map(([value, text]) => h('option', { value, text })),
  );
  const change = (field, value) => act(`settings-${field}`, () => client.changeSettings({ [field]: value }));
  for (const [field, input] of [['rounds', rounds], ['seconds', seconds]]) {
    input.addEventListener('change', () => {
      const value = numberIn(input);
      if (value !== undefined) change(field, value);
    });
  }
  lang.addEventListener('change', () => change('lang', lang.value));
  const row = h(
    'div',
    { class: 'row' },
    h('label', { class: 'field' }, h('span', { text: t('rounds') }), rounds),
    h('label', { class: 'field' }, h('span', { text: t('seconds') }), seconds),
    h('label', { class: 'field' }, h('span', { text: t('narrationLang') }), lang),
  );
  return {
    row,
    update(settings, isHost) {
      for (const [input, value] of [
        [rounds, settings.rounds],
        [seconds, settings.seconds],
        [lang, settings.lang],
      ]) {
        input.disabled = !isHost;
        if (document.activeElement !== input && input.value !== String(value)) input.value = String(value);
      }
    },
  };
}

export function lobbyScreen() {
  const code = h('div', { class: 'code', testid: 'table-code' });
  const players = h('ul', { class: 'seats', testid: 'players' });
  const settings = settingsInputs();
  const start = h('button', {
    class: 'primary big',
    type: 'button',
    testid: 'start-game',
    text: t('start'),
    onclick: () => act('start', () => client.startGame()),
  });
  const waiting = h('p', { class: 'muted waiting', text: t('waitHost') });
  const leave = h('button', {
    class: 'ghost',
    type: 'button',
    testid: 'leave-table',
    text: t('leave'),
    onclick: () => act('leave', () => client.leaveTable()),
  });
  const root = h(
    'div',
    { class: 'lobby two' },
    codeCard(code),
    h(
      'section',
      { class: 'card stack' },
      h('h2', { text: t('players') }),
      players,
      h('h3', { text: t('settings') }),
      settings.row,
      start,
      waiting,
      leave,
    ),
  );
  let lastPlayers = null;
  return {
    root,
    update() {
      const state = client.state;
      if (!state) return;
      setText(code, state.code);
      if (state.players !== lastPlayers || state.host !== players.dataset.host) {
        lastPlayers = state.players;
        players.dataset.host = state.host;
        players.replaceChildren(
          ...state.players.map((seat) =>
            h('li', { class: 'seat' }, h('span', { class: 'name', text: seat.name }), seatBadges(seat, state)),
          ),
        );
      }
      const isHost = isMe(state.host);
      settings.update(state.settings, isHost);
      start.hidden = !isHost;
      start.disabled = client.status !== 'connected' || ui.busy.has('start');
      waiting.hidden = isHost;
    },
  };
}
