// Maratang wire protocol v1: constants and message shapes for JavaScript clients.
// Generated from the Python `protocol` package by scripts/make_clients.py: do not edit.

export const PROTOCOL = 'maratang.v1';
export const SUBPROTOCOL_JSON = 'maratang.v1.json';
export const SUBPROTOCOL_MSGPACK = 'maratang.v1.msgpack';

export const MESSAGE = Object.freeze({
  HELLO: 'hello',
  SESSION_CREATE: 'session.create',
  SESSION_JOIN: 'session.join',
  SESSION_LEAVE: 'session.leave',
  SESSION_SETTINGS: 'session.settings',
  GAME_START: 'game.start',
  BOWL_SUBMIT: 'bowl.submit',
  PING: 'ping',
  WELCOME: 'welcome',
  ACK: 'ack',
  ERROR: 'error',
  PONG: 'pong',
  SYNC: 'sync',
  BYE: 'bye',
  PLAYER_JOINED: 'player.joined',
  PLAYER_LEFT: 'player.left',
  PLAYER_AWAY: 'player.away',
  PLAYER_BACK: 'player.back',
  HOST_CHANGED: 'host.changed',
  SETTINGS_CHANGED: 'settings.changed',
  GAME_STARTED: 'game.started',
  ROUND_STARTED: 'round.started',
  BOWL_SUBMITTED: 'bowl.submitted',
  ROUND_RESOLVED: 'round.resolved',
  NARRATION_START: 'narration.start',
  NARRATION_DELTA: 'narration.delta',
  NARRATION_END: 'narration.end',
  GAME_OVER: 'game.over',
  SESSION_CLOSED: 'session.closed',
});

export const FIELDS = Object.freeze({
  'hello': Object.freeze(['rid', 'token', 'resume']),
  'session.create': Object.freeze(['rid', 'settings']),
  'session.join': Object.freeze(['rid', 'code']),
  'session.leave': Object.freeze(['rid']),
  'session.settings': Object.freeze(['rid', 'rounds', 'seconds', 'lang']),
  'game.start': Object.freeze(['rid']),
  'bowl.submit': Object.freeze(['rid', 'round', 'ingredients', 'spice']),
  'ping': Object.freeze(['rid', 'ts']),
  'welcome': Object.freeze(['player', 'heartbeat_ms', 'server_time', 'session']),
  'ack': Object.freeze(['rid', 'session', 'code']),
  'error': Object.freeze(['code', 'message', 'retry', 'rid', 'field']),
  'pong': Object.freeze(['ts', 'server_time', 'rid']),
  'sync': Object.freeze(['session', 'seq', 'state']),
  'bye': Object.freeze(['reason', 'retry_ms']),
  'player.joined': Object.freeze(['player']),
  'player.left': Object.freeze(['player', 'reason']),
  'player.away': Object.freeze(['player']),
  'player.back': Object.freeze(['player']),
  'host.changed': Object.freeze(['host']),
  'settings.changed': Object.freeze(['rounds', 'seconds', 'lang']),
  'game.started': Object.freeze(['rounds', 'players']),
  'round.started': Object.freeze(['round', 'customer', 'deadline']),
  'bowl.submitted': Object.freeze(['round', 'player']),
  'round.resolved': Object.freeze(['round', 'results', 'totals']),
  'narration.start': Object.freeze(['nid', 'kind', 'round']),
  'narration.delta': Object.freeze(['nid', 'text']),
  'narration.end': Object.freeze(['nid', 'text', 'source']),
  'game.over': Object.freeze(['ranking', 'game']),
  'session.closed': Object.freeze(['reason']),
});

export const ERROR = Object.freeze({
  BAD_FRAME: 'bad_frame',
  UNKNOWN_TYPE: 'unknown_type',
  INVALID: 'invalid',
  UNAUTHORIZED: 'unauthorized',
  NOT_IN_SESSION: 'not_in_session',
  NOT_HOST: 'not_host',
  WRONG_PHASE: 'wrong_phase',
  SESSION_NOT_FOUND: 'session_not_found',
  SESSION_FULL: 'session_full',
  RATE_LIMITED: 'rate_limited',
  TOO_LARGE: 'too_large',
  BUSY: 'busy',
  INTERNAL: 'internal',
});

export const RETRYABLE_ERRORS = new Set(['rate_limited', 'busy', 'internal']);

export const CLOSE = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  TOO_LARGE: 1009,
  INTERNAL: 1011,
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
  UNAUTHORIZED: 4401,
  SLOW_CONSUMER: 4408,
  ABUSE: 4429,
});

export const RESUMABLE_CLOSES = new Set([1001, 1011, 1012, 1013, 4408]);
export const TERMINAL_CLOSES = new Set([4401, 4429]);

export const LIMITS = Object.freeze({
  MAX_PLAYERS: 6,
  CODE_LENGTH: 6,
  CODE_ALPHABET: 'ABCDEFGHJKMNPQRSTUVWXYZ23456789',
  ROUNDS: Object.freeze([1, 10]),
  SECONDS: Object.freeze([15, 120]),
  SPICE: Object.freeze([0, 4]),
  BOWL_SIZE: Object.freeze([3, 6]),
  NAME_LENGTH: 16,
  MAX_RID_LENGTH: 64,
});
