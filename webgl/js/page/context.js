// What every screen shares: the client, the page's own state, redraw scheduling, notices.

import { MaratangClient } from '../client.js';
import { h } from './dom.js';
import { lookup, t } from './i18n.js';

export const client = new MaratangClient();

/** The page's own state: the catalog, the bowl being picked, the actions under way. */
export const ui = {
  catalog: null,
  pick: { key: null, selected: [], spice: null },
  busy: new Set(),
};

let redraw = () => {};
let scheduled = false;

/** `fn` draws the page; `schedule()` runs it once, after the current task. */
export function onRedraw(fn) {
  redraw = fn;
}

export function schedule() {
  if (scheduled) return;
  scheduled = true;
  queueMicrotask(() => {
    scheduled = false;
    redraw();
  });
}

// Notices --------------------------------------------------------------------------------

const MAX_TOASTS = 4;

export function toast(title, { detail = null, kind = 'error', timeout = 6000 } = {}) {
  const toasts = document.getElementById('toasts');
  const el = h(
    'div',
    { class: `toast ${kind}`, testid: 'toast', role: kind === 'error' ? 'alert' : 'status' },
    h('strong', { text: title }),
    detail ? h('span', { text: detail }) : null,
  );
  el.addEventListener('click', () => el.remove());
  toasts.append(el);
  while (toasts.children.length > MAX_TOASTS) toasts.firstElementChild.remove();
  setTimeout(() => el.remove(), timeout);
}

/** A MaratangError (or a notice shaped like one) as a toast, with its field marked. */
export function showError(error) {
  const code = error && error.code ? error.code : 'unknown';
  const field = error && error.field ? String(error.field).split('.').pop() : null;
  const fieldName = field ? lookup(`fields.${field}`) : undefined;
  let title = lookup(`errors.${code}`) ?? t('errors.unknown');
  if (fieldName) title += ` · ${fieldName}`;
  const detail = error && error.message && error.message !== code ? error.message : null;
  toast(title, { detail, kind: code === 'bye' ? 'info' : 'error' });
  if (field) markInvalid(field);
}

function markInvalid(field) {
  const input = document.querySelector(`#app [data-field="${field}"]`);
  if (!input) return;
  input.setAttribute('aria-invalid', 'true');
  input.addEventListener('input', () => input.removeAttribute('aria-invalid'), { once: true });
}

/** Run an action for a button: disabled while it runs, errors shown as toasts. */
export async function act(name, fn) {
  if (ui.busy.has(name)) return;
  ui.busy.add(name);
  schedule();
  try {
    await fn();
  } catch (error) {
    showError(error);
  } finally {
    ui.busy.delete(name);
    schedule();
  }
}
