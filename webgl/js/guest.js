// Guest sign-in over HTTP: `POST /api/auth/guest {name}` → a token and the player.

import { MaratangError } from './session.js';

/** `{token, player}` for `name`; rejects with MaratangError (`invalid` with field `name`, `offline`, ...). */
export async function signInGuest(fetch, baseUrl, name) {
  let response;
  try {
    response = await fetch(`${baseUrl}/api/auth/guest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
  } catch (error) {
    throw new MaratangError({ code: 'offline', message: String(error), retry: true });
  }
  const body = await response.json().catch(() => null);
  if (response.ok && body && body.token) return { token: body.token, player: body.player };
  const error = (body && body.error) || { code: `http_${response.status}`, message: response.statusText };
  throw new MaratangError({ ...error, status: response.status, retry: response.status >= 500 });
}
