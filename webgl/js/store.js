// What survives a page reload: the token, the player, and the table with its seq (written
// together, so a restored table always matches its seq). sessionStorage by default: one tab,
// one player, as two people on two phones.

const VERSION = 1;
const DELAY_MS = 150;

function defaultStorage() {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null; // storage disabled (privacy settings): the client works, a reload signs out
  }
}

export class ClientStore {
  /** @param {Storage|null|undefined} storage  undefined: sessionStorage; null: keep nothing */
  constructor(storage, key = 'maratang.client') {
    this._storage = storage === undefined ? defaultStorage() : storage;
    this._key = key;
    this._timer = null;
    this._pending = null;
  }

  /** The saved snapshot, or null when there is none this version can read. */
  load() {
    if (!this._storage) return null;
    try {
      const saved = JSON.parse(this._storage.getItem(this._key) || 'null');
      return saved && saved.v === VERSION && saved.token ? saved : null;
    } catch {
      return null;
    }
  }

  /** Write `snapshot()` now (null forgets everything). */
  save(snapshot) {
    this._cancel();
    if (!this._storage) return;
    try {
      const value = snapshot();
      if (value) this._storage.setItem(this._key, JSON.stringify({ v: VERSION, ...value }));
      else this._storage.removeItem(this._key);
    } catch {
      /* storage full or disabled: resume still works while the page lives */
    }
  }

  /** Write `snapshot()` shortly, once for a burst of changes (a narration streams many). */
  saveSoon(snapshot) {
    if (!this._storage) return;
    this._pending = snapshot;
    if (this._timer === null) this._timer = setTimeout(() => this.save(this._pending), DELAY_MS);
  }

  _cancel() {
    if (this._timer !== null) clearTimeout(this._timer);
    this._timer = null;
    this._pending = null;
  }
}
