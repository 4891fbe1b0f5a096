// The JSON subprotocol's frames: one message, one text frame, keys in the order built.

import { MESSAGE } from './protocol.js';

/** The text frame of `message`: compact JSON, `t` first when the message was built with it. */
export function encodeMessage(message) {
  return JSON.stringify(message);
}

/** The message in a text frame, or null when it is not a map with a string `t`. */
export function decodeMessage(text) {
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    return null;
  }
  const isMap = message !== null && typeof message === 'object' && !Array.isArray(message);
  return isMap && typeof message.t === 'string' ? message : null;
}

/** Command `t` with `rid` and its fields, absent values left out (the wire never has nulls). */
export function command(t, rid, fields = {}) {
  const message = { t, rid };
  for (const [name, value] of Object.entries(fields)) message[name] = value;
  for (const name of Object.keys(message)) {
    if (message[name] === undefined || message[name] === null) delete message[name];
  }
  return message;
}

/** The first frame on every socket: `hello {token}`, with `resume {session, seq}` when one is held. */
export function hello(token, resume = null) {
  return command(MESSAGE.HELLO, null, { token, resume });
}
