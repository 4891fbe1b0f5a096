// The playable page: screens drawn from the client's table state (see maratang.js).
import { MaratangClient } from './maratang.js';

// Strings ---------------------------------------------------------------------------------

const STRINGS = {
  ko: {
    tagline: '손님마다 입맛이 달라요. 친구들과 딱 맞는 마라탕 한 그릇을 끓여 보세요!',
    nameLabel: '이름',
    namePlaceholder: '닉네임 (최대 16자)',
    signIn: '가게 들어가기',
    hello: '{name}님, 어서 오세요!',
    changeName: '이름 바꾸기',
    createTitle: '새 테이블 열기',
    createHint: '방장이 되어 친구들을 초대해요',
    rounds: '라운드',
    seconds: '제한 시간(초)',
    narrationLang: '이야기 언어',
    create: '테이블 만들기',
    joinTitle: '코드로 참가하기',
    joinHint: '친구에게 받은 6자리 코드를 입력하세요',
    join: '참가하기',
    tableCode: '참가 코드',
    shareCode: '친구에게 이 코드를 알려 주세요',
    copy: '복사',
    copied: '코드를 복사했어요',
    players: '플레이어',
    host: '방장',
    you: '나',
    away: '자리 비움',
    settings: '설정',
    start: '게임 시작',
    waitHost: '방장이 게임을 시작하기를 기다리는 중…',
    leave: '나가기',
    round: '라운드',
    tasting: '시식 중',
    customer: '오늘의 손님',
    narrator: '이야기',
    kinds: { entrance: '손님 입장', tasting: '시식 평가', finale: '피날레' },
    sources: { llm: 'AI 이야기꾼', fallback: '기본 이야기', mixed: 'AI + 기본' },
    pick: '재료 고르기',
    spice: '맵기',
    count: '{n}/{max}가지',
    won: '{n}원',
    submit: '제출하기',
    resubmit: '다시 제출',
    submitted: '제출 완료',
    sending: '보내는 중…',
    needSpice: '맵기를 골라 주세요',
    needMore: '{n}가지 더 골라 주세요',
    tooMany: '최대 {max}가지까지 담을 수 있어요',
    canResubmit: '마감 전까지 다시 제출할 수 있어요',
    submittedBadge: '제출',
    thinking: '고르는 중',
    tastingWait: '손님이 맛보는 중이에요. 다음 손님을 기다려 주세요!',
    resultsTitle: '라운드 {n} 결과',
    lastResultsTitle: '지난 라운드 {n} 결과',
    place: '{n}위',
    points: '{n}점',
    noBowl: '제출하지 않음',
    totalShort: '누적 {n}',
    rules: {
      base: '기본',
      likes: '좋아하는 맛',
      dislikes: '싫어하는 맛',
      craving: '당기던 것',
      spice: '맵기',
      budget: '예산 초과',
      variety: '다양함',
      clamp: '보정',
    },
    finalTitle: '최종 순위',
    winner: '오늘의 최고 셰프',
    scoreTable: '라운드별 점수',
    sum: '합계',
    newTable: '새 테이블',
    closedTitle: '테이블이 닫혔어요',
    status: {
      connected: '연결됨',
      connecting: '연결 중…',
      reconnecting: '다시 연결 중…',
      idle: '연결 안 됨',
      'signed-out': '입장 전',
    },
    loading: '불러오는 중…',
    errors: {
      invalid: '입력값을 확인해 주세요',
      session_not_found: '그런 테이블이 없어요. 코드를 확인해 주세요',
      session_full: '테이블이 가득 찼어요',
      wrong_phase: '지금은 할 수 없어요',
      not_host: '방장만 할 수 있어요',
      not_in_session: '테이블에 앉아 있지 않아요',
      rate_limited: '너무 빨라요. 잠시 후 다시 해 주세요',
      busy: '서버가 바빠요. 다시 해 주세요',
      internal: '서버 오류가 났어요. 다시 해 주세요',
      offline: '서버와 연결되어 있지 않아요',
      disconnected: '연결이 끊겼어요. 다시 해 주세요',
      timeout: '응답이 없어요. 다시 해 주세요',
      unauthorized: '다시 입장해 주세요',
      abuse: '잘못된 요청이 많아 연결이 끊겼어요. 다시 입장해 주세요',
      resume_failed: '이전 테이블로 돌아갈 수 없었어요',
      left: '테이블에서 나왔어요',
      bye: '서버가 잠시 쉬어요. 곧 다시 연결할게요',
      catalog: '메뉴를 불러오지 못했어요. 다시 시도할게요',
      unknown: '문제가 생겼어요',
    },
    fields: {
      name: '이름',
      code: '참가 코드',
      rounds: '라운드',
      seconds: '제한 시간',
      lang: '언어',
      ingredients: '재료',
      spice: '맵기',
      round: '라운드',
    },
    langNames: { ko: '한국어', en: 'English' },
  },
  en: {
    tagline: 'Every customer has a different taste. Cook the perfect malatang with friends!',
    nameLabel: 'Name',
    namePlaceholder: 'Nickname (up to 16)',
    signIn: 'Enter the shop',
    hello: 'Welcome, {name}!',
    changeName: 'Change name',
    createTitle: 'Open a new table',
    createHint: 'Be the host and invite friends',
    rounds: 'Rounds',
    seconds: 'Time limit (s)',
    narrationLang: 'Story language',
    create: 'Create table',
    joinTitle: 'Join with a code',
    joinHint: 'Type the 6-letter code a friend gave you',
    join: 'Join',
    tableCode: 'Join code',
    shareCode: 'Tell your friends this code',
    copy: 'Copy',
    copied: 'Code copied',
    players: 'Players',
    host: 'Host',
    you: 'you',
    away: 'away',
    settings: 'Settings',
    start: 'Start game',
    waitHost: 'Waiting for the host to start…',
    leave: 'Leave',
    round: 'Round',
    tasting: 'Tasting',
    customer: 'Tonight’s customer',
    narrator: 'Story',
    kinds: { entrance: 'Entrance', tasting: 'Tasting', finale: 'Finale' },
    sources: { llm: 'AI narrator', fallback: 'Template', mixed: 'AI + template' },
    pick: 'Pick ingredients',
    spice: 'Spice',
    count: '{n}/{max} picked',
    won: '₩{n}',
    submit: 'Submit bowl',
    resubmit: 'Resubmit',
    submitted: 'Submitted',
    sending: 'Sending…',
    needSpice: 'Choose a spice level',
    needMore: 'Pick {n} more',
    tooMany: 'A bowl holds at most {max}',
    canResubmit: 'You can resubmit until time is up',
    submittedBadge: 'ready',
    thinking: 'picking',
    tastingWait: 'The customer is tasting. Wait for the next one!',
    resultsTitle: 'Round {n} results',
    lastResultsTitle: 'Last round ({n}) results',
    place: '#{n}',
    points: '{n} pts',
    noBowl: 'no bowl',
    totalShort: 'total {n}',
    rules: {
      base: 'base',
      likes: 'liked',
      dislikes: 'disliked',
      craving: 'craving',
      spice: 'spice',
      budget: 'over budget',
      variety: 'variety',
      clamp: 'clamp',
    },
    finalTitle: 'Final ranking',
    winner: 'Chef of the night',
    scoreTable: 'Scores by round',
    sum: 'Total',
    newTable: 'New table',
    closedTitle: 'This table has closed',
    status: {
      connected: 'Connected',
      connecting: 'Connecting…',
      reconnecting: 'Reconnecting…',
      idle: 'Offline',
      'signed-out': 'Not signed in',
    },
    loading: 'Loading…',
    errors: {
      invalid: 'Please check what you entered',
      session_not_found: 'No table has that code',
      session_full: 'That table is full',
      wrong_phase: 'Not possible right now',
      not_host: 'Only the host can do that',
      not_in_session: 'You are not at a table',
      rate_limited: 'Too fast: try again in a moment',
      busy: 'The server is busy: try again',
      internal: 'The server failed: try again',
      offline: 'Not connected to the server',
      disconnected: 'The connection dropped: try again',
      timeout: 'No answer: try again',
      unauthorized: 'Please sign in again',
      abuse: 'Disconnected after too many bad requests. Please sign in again',
      resume_failed: 'Could not return to your table',
      left: 'You left the table',
      bye: 'The server is restarting; reconnecting shortly',
      catalog: 'Could not load the menu; retrying',
      unknown: 'Something went wrong',
    },
    fields: {
      name: 'name',
      code: 'join code',
      rounds: 'rounds',
      seconds: 'time limit',
      lang: 'language',
      ingredients: 'ingredients',
      spice: 'spice',
      round: 'round',
    },
    langNames: { ko: '한국어', en: 'English' },
  },
};

const ui = {
  lang: readLang(),
  catalog: null,
  pick: { key: null, selected: [], spice: null, sending: false },
  busy: new Set(),
};

function readLang() {
  try {
    const saved = localStorage.getItem('maratang.lang');
    if (saved === 'ko' || saved === 'en') return saved;
  } catch {
    /* storage disabled */
  }
  return 'ko';
}

function t(key, vars) {
  const value = key.split('.').reduce((node, part) => (node == null ? node : node[part]), STRINGS[ui.lang]);
  if (typeof value !== 'string') return value ?? key;
  return vars ? value.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? '')) : value;
}

const wonFormat = new Intl.NumberFormat('ko-KR');
const won = (n) => t('won', { n: wonFormat.format(n) });

// DOM helpers -----------------------------------------------------------------------------

function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'testid') el.dataset.testid = value;
    else if (key === 'text') el.textContent = value;
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

// Client and notices -------------------------------------------------------------------------

const client = new MaratangClient();
globalThis.maratang = { client };

const toasts = document.getElementById('toasts');

function toast(title, { detail = null, kind = 'error', timeout = 6000 } = {}) {
  const el = h(
    'div',
    { class: `toast ${kind}`, testid: 'toast', role: kind === 'error' ? 'alert' : 'status' },
    h('strong', { text: title }),
    detail ? h('span', { text: detail }) : null,
  );
  el.addEventListener('click', () => el.remove());
  toasts.append(el);
  while (toasts.children.length > 4) toasts.firstElementChild.remove();
  setTimeout(() => el.remove(), timeout);
}

function showError(error) {
  const code = error && error.code ? error.code : 'unknown';
  const known = STRINGS[ui.lang].errors[code];
  const field = error && error.field ? String(error.field).split('.').pop() : null;
  const fieldName = field ? t(`fields.${field}`) : null;
  let title = known || t('errors.unknown');
  if (fieldName && typeof fieldName === 'string') title += ` · ${fieldName}`;
  const detail = error && error.message && error.message !== code ? error.message : null;
  toast(title, { detail, kind: code === 'bye' ? 'info' : 'error' });
  if (field) {
    const input = main.querySelector(`[data-field="${field}"]`);
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      input.addEventListener('input', () => input.removeAttribute('aria-invalid'), { once: true });
    }
  }
}

/** Run an action for a button: disabled while it runs, errors shown as toasts. */
async function act(name, fn) {
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

// Rendering ---------------------------------------------------------------------------------

const main = document.getElementById('app');
const phaseEl = document.querySelector('[data-testid="phase"]');
const connEl = document.querySelector('[data-testid="connection"]');
let mounted = { name: null, lang: null, view: null };
let scheduled = false;

function schedule() {
  if (scheduled) return;
  scheduled = true;
  queueMicrotask(() => {
    scheduled = false;
    render();
  });
}

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

const SCREENS = {
  signin: signInScreen,
  choice: choiceScreen,
  lobby: lobbyScreen,
  round: roundScreen,
  over: overScreen,
  closed: closedScreen,
  loading: loadingScreen,
};

function render() {
  const name = screenName();
  if (name !== mounted.name || ui.lang !== mounted.lang) {
    const view = SCREENS[name]();
    main.replaceChildren(view.root);
    main.dataset.screen = name;
    const first = mounted.name !== name;
    mounted = { name, lang: ui.lang, view };
    if (first) {
      window.scrollTo({ top: 0 });
      if (view.focus) view.focus();
    }
  }
  mounted.view.update();
  renderChrome();
}

function renderChrome() {
  document.documentElement.lang = ui.lang;
  setText(phaseEl, client.state ? client.state.phase : '');
  connEl.dataset.status = client.status;
  setText(connEl.querySelector('.conn-label'), t(`status.${client.status}`));
  connEl.title = client.rtt !== null ? `RTT ${client.rtt} ms` : '';
  for (const button of document.querySelectorAll('.lang-switch button')) {
    button.setAttribute('aria-pressed', String(button.dataset.lang === ui.lang));
  }
}

setInterval(() => {
  if (mounted.view && mounted.view.tick) mounted.view.tick();
}, 250);

// Screens -------------------------------------------------------------------------------------

function loadingScreen() {
  return { root: h('section', { class: 'card center' }, h('p', { text: t('loading') })), update() {} };
}

function signInScreen() {
  const input = h('input', {
    id: 'name',
    testid: 'name-input',
    'data-field': 'name',
    maxlength: 16,
    autocomplete: 'nickname',
    placeholder: t('namePlaceholder'),
    required: true,
  });
  const button = h('button', { class: 'primary big', type: 'submit', testid: 'sign-in', text: t('signIn') });
  const form = h(
    'form',
    {
      class: 'stack',
      onsubmit: (event) => {
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
      },
    },
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

function segmented(name, options, value, testPrefix) {
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

function choiceScreen() {
  const rounds = h('input', {
    id: 'rounds',
    type: 'number',
    min: 1,
    max: 10,
    value: 5,
    inputmode: 'numeric',
    testid: 'rounds-input',
    'data-field': 'rounds',
  });
  const seconds = h('input', {
    id: 'seconds',
    type: 'number',
    min: 15,
    max: 120,
    step: 5,
    value: 45,
    inputmode: 'numeric',
    testid: 'seconds-input',
    'data-field': 'seconds',
  });
  const langs = segmented('create-lang', [['ko', '한국어'], ['en', 'English']], ui.lang, 'create-lang');
  const create = h('button', { class: 'primary big', type: 'submit', testid: 'create-table', text: t('create') });
  const code = h('input', {
    id: 'code',
    testid: 'join-code',
    'data-field': 'code',
    class: 'code-input',
    maxlength: 6,
    autocomplete: 'off',
    autocapitalize: 'characters',
    spellcheck: 'false',
    placeholder: 'ABC234',
  });
  code.addEventListener('input', () => {
    const clean = code.value.toUpperCase().replace(/[^A-Z0-9]/g, '');
    if (clean !== code.value) code.value = clean;
  });
  const join = h('button', { class: 'primary big', type: 'submit', testid: 'join-table', text: t('join') });
  const number = (input) => {
    const value = Number.parseInt(input.value, 10);
    return Number.isFinite(value) ? value : undefined;
  };
  const root = h(
    'div',
    { class: 'choice' },
    h(
      'p',
      { class: 'greeting' },
      h('span', { class: 'who', text: t('hello', { name: client.player ? client.player.name : '' }) }),
      h('button', { class: 'link', type: 'button', text: t('changeName'), onclick: () => client.signOut() }),
    ),
    h(
      'div',
      { class: 'two' },
      h(
        'form',
        {
          class: 'card stack',
          novalidate: true,
          onsubmit: (event) => {
            event.preventDefault();
            const lang = root.querySelector('input[name="create-lang"]:checked');
            act('create', () =>
              client.createTable({
                rounds: number(rounds),
                seconds: number(seconds),
                lang: lang ? lang.value : undefined,
              }),
            );
          },
        },
        h('h2', { text: t('createTitle') }),
        h('p', { class: 'muted', text: t('createHint') }),
        h(
          'div',
          { class: 'row' },
          h('label', { class: 'field' }, h('span', { text: t('rounds') }), rounds),
          h('label', { class: 'field' }, h('span', { text: t('seconds') }), seconds),
        ),
        h('div', { class: 'field' }, h('span', { text: t('narrationLang') }), langs),
        create,
      ),
      h(
        'form',
        {
          class: 'card stack',
          onsubmit: (event) => {
            event.preventDefault();
            act('join', () => client.joinTable(code.value));
          },
        },
        h('h2', { text: t('joinTitle') }),
        h('p', { class: 'muted', text: t('joinHint') }),
        code,
        join,
      ),
    ),
  );
  return {
    root,
    update() {
      const offline = client.status !== 'connected';
      create.disabled = offline || ui.busy.has('create');
      join.disabled = offline || ui.busy.has('join');
    },
  };
}

function seatBadges(seat, state) {
  const me = client.player && seat.id === client.player.id;
  return [
    seat.id === state.host ? h('span', { class: 'badge host', text: t('host') }) : null,
    me ? h('span', { class: 'badge me', text: t('you') }) : null,
    seat.away ? h('span', { class: 'badge away', text: t('away') }) : null,
  ];
}

function lobbyScreen() {
  const code = h('div', { class: 'code', testid: 'table-code' });
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
  const players = h('ul', { class: 'seats', testid: 'players' });
  const rounds = h('input', { type: 'number', min: 1, max: 10, testid: 'rounds-input', 'data-field': 'rounds' });
  const seconds = h('input', {
    type: 'number',
    min: 15,
    max: 120,
    step: 5,
    testid: 'seconds-input',
    'data-field': 'seconds',
  });
  const lang = h(
    'select',
    { testid: 'lang-select', 'data-field': 'lang' },
    h('option', { value: 'ko', text: '한국어' }),
    h('option', { value: 'en', text: 'English' }),
  );
  const change = (field, value) => act(`settings-${field}`, () => client.changeSettings({ [field]: value }));
  rounds.addEventListener('change', () => {
    const value = Number.parseInt(rounds.value, 10);
    if (Number.isFinite(value)) change('rounds', value);
  });
  seconds.addEventListener('change', () => {
    const value = Number.parseInt(seconds.value, 10);
    if (Number.isFinite(value)) change('seconds', value);
  });
  lang.addEventListener('change', () => change('lang', lang.value));
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
    h(
      'section',
      { class: 'card code-card' },
      h('p', { class: 'label', text: t('tableCode') }),
      code,
      h('p', { class: 'muted' }, t('shareCode'), ' ', copy),
    ),
    h(
      'section',
      { class: 'card stack' },
      h('h2', { text: t('players') }),
      players,
      h('h3', { text: t('settings') }),
      h(
        'div',
        { class: 'row' },
        h('label', { class: 'field' }, h('span', { text: t('rounds') }), rounds),
        h('label', { class: 'field' }, h('span', { text: t('seconds') }), seconds),
        h('label', { class: 'field' }, h('span', { text: t('narrationLang') }), lang),
      ),
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
      const isHost = client.player && state.host === client.player.id;
      for (const [input, value] of [
        [rounds, state.settings.rounds],
        [seconds, state.settings.seconds],
        [lang, state.settings.lang],
      ]) {
        input.disabled = !isHost;
        if (document.activeElement !== input && input.value !== String(value)) input.value = String(value);
      }
      start.hidden = !isHost;
      start.disabled = client.status !== 'connected' || ui.busy.has('start');
      waiting.hidden = Boolean(isHost);
    },
  };
}

function narrationPanel() {
  const kind = h('span', { class: 'kind' });
  const source = h('span', { class: 'source', testid: 'narration-source' });
  const text = h('span', { testid: 'narration' });
  const cursor = h('span', { class: 'cursor', 'aria-hidden': 'true' });
  const body = h('p', { class: 'narration-text' }, text, cursor);
  const root = h(
    'section',
    { class: 'card narration', testid: 'narration-panel' },
    h('header', {}, h('span', { class: 'title', text: t('narrator') }), kind, source),
    body,
  );
  let last;
  return {
    root,
    update(narration) {
      if (narration === last) return;
      last = narration;
      const streaming = Boolean(narration && !narration.source);
      setText(text, narration ? narration.text || '' : '');
      cursor.hidden = !streaming;
      root.classList.toggle('streaming', streaming);
      root.setAttribute('aria-busy', String(streaming));
      root.dataset.kind = narration && narration.kind ? narration.kind : '';
      root.dataset.state = !narration ? 'none' : streaming ? 'streaming' : 'ended';
      setText(kind, narration && narration.kind ? t(`kinds.${narration.kind}`) : '');
      source.hidden = !(narration && narration.source);
      setText(source, narration && narration.source ? t(`sources.${narration.source}`) : '');
      source.dataset.source = narration && narration.source ? narration.source : '';
      body.scrollTop = body.scrollHeight;
    },
  };
}

function ingredientName(id) {
  const item = ui.catalog && ui.catalog.byId[id];
  return item ? (ui.lang === 'en' ? item.name_en : item.name) : id;
}

function spiceName(level) {
  const spice = ui.catalog && ui.catalog.spices.find((s) => s.level === level);
  return spice ? (ui.lang === 'en' ? spice.name_en : spice.name) : String(level);
}

function playerName(id) {
  return client.names[id] || id;
}

function heat(level) {
  return h(
    'span',
    { class: 'heat', 'aria-hidden': 'true' },
    [0, 1, 2, 3].map((i) => h('i', { class: i < level ? 'on' : '' })),
  );
}

function resultsPanel(entry, title) {
  const sorted = [...entry.results].sort((a, b) => a.place - b.place);
  return h(
    'section',
    { class: 'card results', testid: 'results', 'data-round': entry.round },
    h('h3', { text: title }),
    h(
      'ol',
      { class: 'result-list' },
      sorted.map((result) =>
        h(
          'li',
          { class: `result place-${result.place}`, testid: 'result-row' },
          h('span', { class: 'place', text: t('place', { n: result.place }) }),
          h(
            'div',
            { class: 'who' },
            h('strong', { text: playerName(result.player) }),
            h(
              'span',
              { class: 'bowl-line' },
              result.bowl
                ? `${spiceName(result.bowl.spice)} · ${result.bowl.ingredients.map(ingredientName).join(', ')}`
                : t('noBowl'),
            ),
            h(
              'span',
              { class: 'chips' },
              (result.breakdown || []).map((p) =>
                h(
                  'span',
                  { class: `chip ${p.points < 0 ? 'minus' : 'plus'}` },
                  `${t(`rules.${p.rule}`)} ${p.rule === 'base' || p.points < 0 ? '' : '+'}${p.points}`,
                ),
              ),
            ),
          ),
          h(
            'div',
            { class: 'score' },
            h('b', { text: String(result.score) }),
            h('small', {
              text:
                entry.totals && result.player in entry.totals
                  ? t('totalShort', { n: entry.totals[result.player] })
                  : '',
            }),
          ),
        ),
      ),
    ),
  );
}

function sameBowl(bowl, selected, spice) {
  if (!bowl || bowl.spice !== spice || bowl.ingredients.length !== selected.length) return false;
  const set = new Set(bowl.ingredients);
  return selected.every((id) => set.has(id));
}

function roundScreen() {
  const catalog = ui.catalog;
  const [minBowl, maxBowl] = catalog.limits.bowl;
  const roundNumber = h('b', { testid: 'round-number' });
  const roundTotal = h('span');
  const code = h('span', { class: 'code small', testid: 'table-code' });
  const timerText = h('span', { class: 'timer-text', testid: 'timer' });
  const timerFill = h('i');
  const timer = h('div', { class: 'timer' }, timerText, h('div', { class: 'timer-bar' }, timerFill));
  const customerName = h('h2', { class: 'customer-name', testid: 'customer-name' });
  const customerAlt = h('p', { class: 'alt' });
  const story = h('p', { class: 'story', testid: 'customer-story' });
  const narration = narrationPanel();
  const seats = h('ul', { class: 'seats compact', testid: 'players' });
  const resultsSlot = h('div', { class: 'results-slot' });

  const buttons = new Map();
  const groups = [];
  for (const [category, names] of Object.entries(catalog.categories)) {
    const items = catalog.ingredients.filter((item) => item.category === category);
    if (!items.length) continue;
    const grid = h('div', { class: 'grid' });
    for (const item of items) {
      const button = h(
        'button',
        {
          type: 'button',
          class: 'ing',
          testid: `ingredient-${item.id}`,
          'aria-pressed': 'false',
          onclick: () => toggleIngredient(item.id),
        },
        h('span', { class: 'ko', text: item.name }),
        h('span', { class: 'en', text: item.name_en }),
        h('span', { class: 'price', text: won(item.price) }),
      );
      buttons.set(item.id, button);
      grid.append(button);
    }
    groups.push(
      h(
        'section',
        { class: 'cat' },
        h('h4', {}, ui.lang === 'en' ? names.name_en : names.name, ' ', h('small', { text: ui.lang === 'en' ? names.name : names.name_en })),
        grid,
      ),
    );
  }
  const spiceButtons = catalog.spices.map((spice) =>
    h(
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
    ),
  );
  const count = h('span', { class: 'count', testid: 'bowl-count' });
  const price = h('span', { class: 'total', testid: 'bowl-price' });
  const spiceLabel = h('span', { class: 'spice-label' });
  const hint = h('span', { class: 'hint' });
  const submit = h('button', {
    type: 'button',
    class: 'primary big',
    testid: 'submit-bowl',
    onclick: submitBowl,
  });
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
  const bar = h(
    'div',
    { class: 'bowlbar' },
    h('div', { class: 'summary' }, count, spiceLabel, price, hint),
    submit,
  );

  const root = h(
    'div',
    { class: 'round' },
    h(
      'div',
      { class: 'round-head' },
      h('span', { class: 'round-label' }, `${t('round')} `, roundNumber, ' / ', roundTotal),
      timer,
      code,
    ),
    h(
      'div',
      { class: 'round-grid' },
      h(
        'div',
        { class: 'col story-col' },
        h(
          'section',
          { class: 'card customer' },
          h('p', { class: 'label', text: t('customer') }),
          customerName,
          customerAlt,
          story,
        ),
        narration.root,
        h('section', { class: 'card' }, h('h3', { text: t('players') }), seats),
        resultsSlot,
      ),
      h('div', { class: 'col pick-col' }, picker, bar),
    ),
  );

  function resetPickIfNewRound(state) {
    const key = `${client.session}:${state.round}`;
    if (ui.pick.key === key) return;
    ui.pick = {
      key,
      selected: state.bowl ? [...state.bowl.ingredients] : [],
      spice: state.bowl ? state.bowl.spice : null,
      sending: false,
    };
  }

  function toggleIngredient(id) {
    const state = client.state;
    if (!state || state.phase !== 'picking') return;
    const at = ui.pick.selected.indexOf(id);
    if (at >= 0) ui.pick.selected.splice(at, 1);
    else if (ui.pick.selected.length >= maxBowl) {
      toast(t('tooMany', { max: maxBowl }), { kind: 'info', timeout: 2500 });
      return;
    } else ui.pick.selected.push(id);
    schedule();
  }

  function chooseSpice(level) {
    const state = client.state;
    if (!state || state.phase !== 'picking') return;
    ui.pick.spice = level;
    schedule();
  }

  function submitBowl() {
    const state = client.state;
    if (!state || state.phase !== 'picking') return;
    const { selected, spice } = ui.pick;
    act('submit', () => client.submitBowl(state.round, [...selected], spice));
  }

  let lastSeats = null;
  let lastHost = null;
  let lastEntry = null;
  let lastPhase = null;

  function tick() {
    const state = client.state;
    if (!state) return;
    if (state.phase !== 'picking' || !state.deadline) {
      setText(timerText, t('tasting'));
      timer.classList.remove('urgent');
      timerFill.style.width = '0%';
      return;
    }
    const left = Math.max(0, state.deadline - client.serverNow());
    const secs = Math.ceil(left / 1000);
    setText(timerText, `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, '0')}`);
    const span = (state.settings.seconds || 45) * 1000;
    timerFill.style.width = `${Math.min(100, (left / span) * 100).toFixed(1)}%`;
    timer.classList.toggle('urgent', secs <= 10);
  }

  return {
    root,
    tick,
    update() {
      const state = client.state;
      if (!state) return;
      resetPickIfNewRound(state);
      const picking = state.phase === 'picking';
      setText(roundNumber, String(state.round));
      setText(roundTotal, String(state.settings.rounds));
      setText(code, state.code);
      const customer = state.customer || {};
      const en = ui.lang === 'en';
      setText(customerName, (en ? customer.name_en : customer.name) || customer.name || '');
      setText(customerAlt, (en ? customer.name : customer.name_en) || '');
      setText(story, (en ? customer.story_en : customer.story) || customer.story || '');
      narration.update(state.narration);

      if (state.players !== lastSeats || state.host !== lastHost || state.phase !== lastPhase) {
        lastSeats = state.players;
        lastHost = state.host;
        seats.replaceChildren(
          ...state.players.map((seat) =>
            h(
              'li',
              { class: `seat ${seat.submitted ? 'done' : ''}` },
              h('span', { class: 'name', text: seat.name }),
              seatBadges(seat, state),
              picking
                ? h('span', {
                    class: `state ${seat.submitted ? 'ready' : ''}`,
                    text: seat.submitted ? `✓ ${t('submittedBadge')}` : t('thinking'),
                  })
                : null,
              h('span', { class: 'total', text: t('points', { n: seat.total }) }),
            ),
          ),
        );
      }

      const entry = client.history.length ? client.history[client.history.length - 1] : null;
      if (entry !== lastEntry || state.phase !== lastPhase) {
        lastEntry = entry;
        const current = entry && entry.round === state.round && !picking;
        resultsSlot.replaceChildren(
          entry
            ? resultsPanel(
                entry,
                t(current ? 'resultsTitle' : 'lastResultsTitle', { n: entry.round }),
              )
            : '',
        );
      }
      lastPhase = state.phase;

      const { selected, spice, sending } = ui.pick;
      const chosen = new Set(selected);
      for (const [id, button] of buttons) {
        const on = chosen.has(id);
        button.setAttribute('aria-pressed', String(on));
        button.disabled = !picking || (!on && selected.length >= maxBowl);
      }
      for (const button of spiceButtons) {
        const level = Number(button.dataset.testid.slice('spice-'.length));
        button.setAttribute('aria-pressed', String(level === spice));
        button.disabled = !picking;
      }
      root.classList.toggle('is-tasting', !picking);
      tastingNote.hidden = picking;
      bar.hidden = !picking;

      const total = selected.reduce((sum, id) => sum + (catalog.byId[id] ? catalog.byId[id].price : 0), 0);
      setText(count, t('count', { n: selected.length, max: maxBowl }));
      setText(price, won(total));
      setText(spiceLabel, spice === null ? '' : spiceName(spice));
      const done = sameBowl(state.bowl, selected, spice);
      let note = '';
      if (selected.length < minBowl) note = t('needMore', { n: minBowl - selected.length });
      else if (spice === null) note = t('needSpice');
      else if (done) note = t('canResubmit');
      setText(hint, note);
      const busy = ui.busy.has('submit');
      submit.disabled =
        !picking || busy || done || note === t('needSpice') || selected.length < minBowl || client.status !== 'connected';
      submit.dataset.state = done ? 'submitted' : state.bowl ? 'changed' : 'new';
      setText(submit, busy ? t('sending') : done ? `✓ ${t('submitted')}` : state.bowl ? t('resubmit') : t('submit'));
      tick();
    },
  };
}

function scoreTable() {
  const state = client.state;
  const history = client.history;
  const order = (state.ranking || []).map((entry) => entry.player);
  for (const seat of state.players) if (!order.includes(seat.id)) order.push(seat.id);
  const totals = Object.fromEntries((state.ranking || []).map((entry) => [entry.player, entry.total]));
  const last = history.length ? history[history.length - 1].round : null;
  return h(
    'section',
    { class: 'card', testid: 'results', 'data-round': last },
    h('h3', { text: t('scoreTable') }),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'scores' },
        h(
          'thead',
          {},
          h('tr', {}, h('th', { text: t('players') }), history.map((entry) => h('th', { text: `R${entry.round}` })), h('th', { text: t('sum') })),
        ),
        h(
          'tbody',
          {},
          order.map((id) =>
            h(
              'tr',
              { testid: 'result-row' },
              h('th', { text: playerName(id) }),
              history.map((entry) => {
                const result = entry.results.find((r) => r.player === id);
                return h('td', { text: result ? String(result.score) : '–' });
              }),
              h('td', { class: 'sum', text: String(totals[id] ?? '') }),
            ),
          ),
        ),
      ),
    ),
  );
}

function newTableButton() {
  return h('button', {
    class: 'primary big',
    type: 'button',
    testid: 'new-table',
    text: t('newTable'),
    onclick: () => act('leave', () => client.leaveTable()),
  });
}

function overScreen() {
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
      narration.update(state.narration);
      const rankingChanged = state.ranking !== lastRanking;
      if (rankingChanged) {
        lastRanking = state.ranking;
        ranking.replaceChildren(
          ...(state.ranking || []).map((entry) =>
            h(
              'li',
              { class: `rank place-${entry.place}`, testid: 'ranking-row' },
              h('span', { class: 'medal', text: String(entry.place) }),
              h(
                'span',
                { class: 'name' },
                entry.name,
                client.player && entry.player === client.player.id ? h('span', { class: 'badge me', text: t('you') }) : null,
                entry.place === 1 ? h('small', { class: 'crown', text: t('winner') }) : null,
              ),
              h('span', { class: 'total', text: t('points', { n: entry.total }) }),
            ),
          ),
        );
      }
      if (client.history !== lastHistory || rankingChanged) {
        lastHistory = client.history;
        tableSlot.replaceChildren(scoreTable());
      }
    },
  };
}

function closedScreen() {
  return {
    root: h('section', { class: 'card center stack' }, h('h2', { text: t('closedTitle') }), newTableButton()),
    update() {},
  };
}

// Start ---------------------------------------------------------------------------------------

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
      await new Promise((resolve) => setTimeout(resolve, Math.min(15000, 500 * 2 ** attempt)));
    }
  }
}

for (const button of document.querySelectorAll('.lang-switch button')) {
  button.addEventListener('click', () => {
    ui.lang = button.dataset.lang;
    try {
      localStorage.setItem('maratang.lang', ui.lang);
    } catch {
      /* storage disabled */
    }
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

loadCatalog();
if (client.signedIn) client.connect();
render();
