// Signed in, at no table: open a new one, or join one with its code.

import { LIMITS } from '../protocol.js';
import { act, client, ui } from './context.js';
import { h } from './dom.js';
import { lang, t } from './i18n.js';
import { langOptions, numberIn, segmented } from './parts.js';

function createForm() {
  const rounds = h('input', {
    id: 'rounds',
    type: 'number',
    min: LIMITS.ROUNDS[0],
    max: LIMITS.ROUNDS[1],
    value: 5,
    inputmode: 'numeric',
    testid: 'rounds-input',
    'data-field': 'rounds',
  });
  const seconds = h('input', {
    id: 'seconds',
    type: 'number',
    min: LIMITS.SECONDS[0],
    max: LIMITS.SECONDS[1],
    step: 5,
    value: 45,
    inputmode: 'numeric',
    testid: 'seconds-input',
    'data-field': 'seconds',
  });
  const langs = segmented('create-lang', langOptions(), lang(), 'create-lang');
  const button = h('button', { class: 'primary big', type: 'submit', testid: 'create-table', text: t('create') });
  const submit = (event) => {
    event.preventDefault();
    const chosen = langs.querySelector('input[name="create-lang"]:checked');
    act('create', () =>
      client.createTable({
        rounds: numberIn(rounds),
        seconds: numberIn(seconds),
        lang: chosen ? chosen.value : undefined,
      }),
    );
  };
  const form = h(
    'form',
    { class: 'card stack', novalidate: true, onsubmit: submit },
    h('h2', { text: t('createTitle') }),
    h('p', { class: 'muted', text: t('createHint') }),
    h(
      'div',
      { class: 'row' },
      h('label', { class: 'field' }, h('span', { text: t('rounds') }), rounds),
      h('label', { class: 'field' }, h('span', { text: t('seconds') }), seconds),
    ),
    h('div', { class: 'field' }, h('span', { text: t('narrationLang') }), langs),
    button,
  );
  return { form, button };
}

function joinForm() {
  const code = h('input', {
    id: 'code',
    testid: 'join-code',
    'data-field': 'code',
    class: 'code-input',
    maxlength: LIMITS.CODE_LENGTH,
    autocomplete: 'off',
    autocapitalize: 'characters',
    spellcheck: 'false',
    placeholder: 'ABC234',
  });
  code.addEventListener('input', () => {
    const clean = code.value.toUpperCase().replace(/[^A-Z0-9]/g, '');
    if (clean !== code.value) code.value = clean;
  });
  const button = h('button', { class: 'primary big', type: 'submit', testid: 'join-table', text: t('join') });
  const submit = (event) => {
    event.preventDefault();
    act('join', () => client.joinTable(code.value));
  };
  const form = h(
    'form',
    { class: 'card stack', onsubmit: submit },
    h('h2', { text: t('joinTitle') }),
    h('p', { class: 'muted', text: t('joinHint') }),
    code,
    button,
  );
  return { form, button };
}

export function choiceScreen() {
  const create = createForm();
  const join = joinForm();
  const root = h(
    'div',
    { class: 'choice' },
    h(
      'p',
      { class: 'greeting' },
      h('span', { class: 'who', text: t('hello', { name: client.player ? client.player.name : '' }) }),
      h('button', { class: 'link', type: 'button', text: t('changeName'), onclick: () => client.signOut() }),
    ),
    h('div', { class: 'two' }, create.form, join.form),
  );
  return {
    root,
    update() {
      const offline = client.status !== 'connected';
      create.button.disabled = offline || ui.busy.has('create');
      join.button.disabled = offline || ui.busy.has('join');
    },
  };
}
