// Player-facing text: webgl/locales/<lang>.json, shared with the Unity sample. Korean first,
// English available; the choice is kept in localStorage.

const LANGS = ['ko', 'en'];
const STORE_KEY = 'maratang.lang';
const LOCALES = new URL('../../locales/', import.meta.url);

const strings = {};
let current = readLang();

function readLang() {
  try {
    const saved = localStorage.getItem(STORE_KEY);
    if (LANGS.includes(saved)) return saved;
  } catch {
    /* storage disabled */
  }
  return LANGS[0];
}

/** Fetch every locale file; the page renders once they are in. */
export async function loadLocales() {
  await Promise.all(
    LANGS.map(async (lang) => {
      const response = await fetch(new URL(`${lang}.json`, LOCALES));
      if (!response.ok) throw new Error(`locale ${lang}: HTTP ${response.status}`);
      strings[lang] = await response.json();
    }),
  );
}

export function lang() {
  return current;
}

export function setLang(next) {
  current = next;
  try {
    localStorage.setItem(STORE_KEY, next);
  } catch {
    /* storage disabled */
  }
}

/** The string at dotted `key` in the current language, or undefined. */
export function lookup(key) {
  const value = key.split('.').reduce((node, part) => (node == null ? node : node[part]), strings[current]);
  return typeof value === 'string' ? value : undefined;
}

/** The string at `key` with `{name}` placeholders filled from `vars` (the key itself when missing). */
export function t(key, vars) {
  const value = lookup(key);
  if (value === undefined) return key;
  return vars ? value.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? '')) : value;
}

/** One of a pair of names (`name`, `name_en`) in the current language, the other as fallback. */
export function localName(item, field = 'name') {
  const en = item[`${field}_en`];
  return (current === 'en' ? en : item[field]) || item[field] || '';
}

const wonFormat = new Intl.NumberFormat('ko-KR');

export function won(n) {
  return t('won', { n: wonFormat.format(n) });
}
