// The first screen: a name, then a guest token and a connection.

import { LIMITS } from '../protocol.js';
import { act, client, showError, ui } from './context.js';
import { h } from './dom.js';
import { t } from './i18n.js';

function bowlArt() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 120 80');
  svg.setAttribute('class', 'hero-art');
  svg.setAttribute('aria-hidden', 'true');
  svg.innerHTML = `
    <path class="steam" d="M40 22c-6 -7 6 -10 0 -18M60 20c-6 -8 6 -12 0 -20M80 22c-6 -7 6 -10 0 -18"/>
    <ellipse class="broth" cx="60" cy="34" rx="52" ry="9"/>
    <circle class="bits a" cx="38" cy="33" r="4"/><circle class="bits b" cx="56" cy="31" r="3"/>
    <circle class="bits c" cx="72" cy="35" r="4"/><circle class="bits a" cx="86" cy="32" r="3"/>
    <path class="bowl" d="M8 36h104c0 22-23 40-52 40S8 58 8 36z"/>
    <path class="band" d="M18 50h84"/>`;
  return svg;
}

export function signInScreen() {
  const input = h('input', {
    id: 'name',
    testid: 'name-input',
    'data-field': 'name',
    maxlength: LIMITS.NAME_LENGTH,
    autocomplete: 'nickname',
    placeholder: t('namePlaceholder'),
    required: true,
  });
  const button = h('button', { class: 'primary big', type: 'submit', testid: 'sign-in', text: t('signIn') });
  const submit = (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (!name) {
      showError({ code: 'invalid', field: 'name' });
      return;
    }
    act('signin', async () => {
      await client.signIn(name);
      client.connect();
    });
  };
  const form = h(
    'form',
    { class: 'stack', onsubmit: submit },
    h('label', { for: 'name', text: t('nameLabel') }),
    input,
    button,
  );
  const root = h(
    'section',
    { class: 'card hero' },
    bowlArt(),
    h('h1', {}, '마라탕 ', h('small', { text: 'Maratang' })),
    h('p', { class: 'tagline', text: t('tagline') }),
    form,
  );
  return {
    root,
    focus: () => input.focus(),
    update() {
      button.disabled = ui.busy.has('signin');
    },
  };
}
