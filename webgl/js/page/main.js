// The playable page: screens drawn from the client's table (see ../client.js), text from
// webgl/locales. One screen is mounted at a time and redrawn after every change.

import { client, onRedraw, schedule, showError, ui } from './context.js';
import { setText } from './dom.js';
import { lang, loadLocales, setLang, t } from './i18n.js';
import { choiceScreen } from './choice.js';
import { lobbyScreen } from './lobby.js';
import { closedScreen, loadingScreen, overScreen } from './over.js';
import { roundScreen } from './round/screen.js';
import { signInScreen } from './signin.js';

const SCREENS = {
  signin: signInScreen,
  choice: choiceScreen,
  lobby: lobbyScreen,
  round: roundScreen,
  over: overScreen,
  closed: closedScreen,
  loading: loadingScreen,
};
const TICK_MS = 250;
const CATALOG_RETRY_CAP_MS = 15000;

const main = document.getElementById('app');
const phaseEl = document.querySelector('[data-testid="phase"]');
const connEl = document.querySelector('[data-testid="connection"]');
let mounted = { name: null, lang: null, view: null };

function screenName() {
  if (!client.signedIn) return 'signin';
  const state = client.state;
  if (!state) return 'choice';
  switch (state.phase) {
    case 'lobby':
      return 'lobby';
    case 'picking':
    case 'tasting':
      return ui.catalog ? 'round' : 'loading';
    case 'over':
      return 'over';
    default:
      return 'closed';
  }
}

function render() {
  const name = screenName();
  if (name !== mounted.name || lang() !== mounted.lang) {
    const view = SCREENS[name]();
    main.replaceChildren(view.root);
    main.dataset.screen = name;
    const first = mounted.name !== name;
    mounted = { name, lang: lang(), view };
    if (first) {
      window.scrollTo({ top: 0 });
      if (view.focus) view.focus();
    }
  }
  mounted.view.update();
  renderChrome();
}

function renderChrome() {
  document.documentElement.lang = lang();
  setText(phaseEl, client.state ? client.state.phase : '');
  connEl.dataset.status = client.status;
  setText(connEl.querySelector('.conn-label'), t(`status.${client.status}`));
  connEl.title = client.rtt !== null ? `RTT ${client.rtt} ms` : '';
  for (const button of document.querySelectorAll('.lang-switch button')) {
    button.setAttribute('aria-pressed', String(button.dataset.lang === lang()));
  }
}

async function loadCatalog() {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const response = await fetch('/api/catalog');
      if (!response.ok) throw new Error(`catalog: HTTP ${response.status}`);
      const catalog = await response.json();
      catalog.byId = Object.fromEntries(catalog.ingredients.map((item) => [item.id, item]));
      ui.catalog = catalog;
      schedule();
      return;
    } catch (error) {
      if (attempt === 1) showError({ code: 'catalog', message: String(error) });
      await new Promise((resolve) => setTimeout(resolve, Math.min(CATALOG_RETRY_CAP_MS, 500 * 2 ** attempt)));
    }
  }
}

function listen() {
  for (const button of document.querySelectorAll('.lang-switch button')) {
    button.addEventListener('click', () => {
      setLang(button.dataset.lang);
      schedule();
    });
  }
  client.subscribe(({ reason, detail }) => {
    if (reason === 'notice') showError(detail);
    schedule();
  });
  window.addEventListener('pagehide', () => client.flush());
  window.addEventListener('online', () => client.reconnectNow());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') client.reconnectNow();
  });
  setInterval(() => {
    if (mounted.view && mounted.view.tick) mounted.view.tick();
  }, TICK_MS);
}

globalThis.maratang = { client };
listen();
loadCatalog();
await loadLocales();
onRedraw(render);
if (client.signedIn) client.connect();
render();
