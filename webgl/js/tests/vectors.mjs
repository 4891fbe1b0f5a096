// The golden vectors of protocol/vectors/, read from the checkout.

import { readFileSync } from 'node:fs';

export function readVectors(name) {
  const url = new URL(`../../../protocol/vectors/${name}`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8'));
}

/** A JSON value without the keys whose value is null, at every depth (absent == null). */
export function withoutNulls(value) {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, item]) => item !== null)
      .map(([key, item]) => [key, withoutNulls(item)]),
  );
}
