// The table view reducer: a TableView (the wire shape `sync.state` carries) and the session
// events after it, applied one at a time, give the table exactly as the server would show it
// to this player. It ports the reference reducer (protocol/reducer.py) rule for rule;
// protocol/vectors/reducer.json, made from the server's own rules and view, is the judge.
//
// Pure: every call returns a new object and leaves its input as it was, so a view can tell
// what changed by comparing references.

import { MESSAGE } from './protocol.js';

function withSeats(view, fn) {
  return { ...view, players: view.players.map(fn) };
}

function withSeat(view, id, patch) {
  return withSeats(view, (seat) => (seat.id === id ? { ...seat, ...patch } : seat));
}

function joined(view, { player }) {
  if (view.players.some((seat) => seat.id === player.id)) {
    return withSeat(view, player.id, { name: player.name, away: false });
  }
  const seat = { id: player.id, name: player.name, total: 0, away: false, submitted: false };
  return { ...view, players: [...view.players, seat] };
}

/** The narration `nid` with `patch`, or the view unchanged when it never saw that one start. */
function withNarration(view, nid, patch) {
  const narration = view.narration;
  if (!narration || narration.nid !== nid) return view;
  return { ...view, narration: { ...narration, ...patch(narration) } };
}

const RULES = {
  [MESSAGE.PLAYER_JOINED]: joined,
  [MESSAGE.PLAYER_LEFT]: (view, { player }) => ({
    ...view,
    players: view.players.filter((seat) => seat.id !== player),
  }),
  [MESSAGE.PLAYER_AWAY]: (view, { player }) => withSeat(view, player, { away: true }),
  [MESSAGE.PLAYER_BACK]: (view, { player }) => withSeat(view, player, { away: false }),
  [MESSAGE.HOST_CHANGED]: (view, { host }) => ({ ...view, host }),
  [MESSAGE.SETTINGS_CHANGED]: (view, { rounds, seconds, lang }) => ({
    ...view,
    settings: { rounds, seconds, lang },
  }),
  [MESSAGE.ROUND_STARTED]: (view, { round, customer, deadline }) => ({
    ...withSeats(view, (seat) => ({ ...seat, submitted: false })),
    phase: 'picking',
    round,
    customer,
    deadline,
    bowl: null,
    results: null,
  }),
  [MESSAGE.BOWL_SUBMITTED]: (view, { round, player }) =>
    round === view.round ? withSeat(view, player, { submitted: true }) : view,
  [MESSAGE.ROUND_RESOLVED]: (view, { round, results, totals }) => ({
    ...withSeats(view, (seat) => (seat.id in totals ? { ...seat, total: totals[seat.id] } : seat)),
    phase: 'tasting',
    round,
    deadline: null,
    results,
  }),
  [MESSAGE.NARRATION_START]: (view, { nid, kind }) => ({
    ...view,
    narration: { nid, kind, text: '' },
  }),
  [MESSAGE.NARRATION_DELTA]: (view, { nid, text }) =>
    withNarration(view, nid, (narration) => ({ text: narration.text + text })),
  [MESSAGE.NARRATION_END]: (view, { nid, text, source }) =>
    withNarration(view, nid, () => ({ text, source })),
  [MESSAGE.GAME_OVER]: (view, { ranking }) => ({ ...view, phase: 'over', deadline: null, ranking }),
  [MESSAGE.SESSION_CLOSED]: (view) => ({ ...view, phase: 'closed', deadline: null }),
};

/**
 * The table after one session event. `game.started` changes nothing (the lobby already
 * holds the players and rounds; its round comes with `round.started`), and neither does an
 * event type this version does not know.
 */
export function applyEvent(view, event) {
  const rule = RULES[event.t];
  return rule ? rule(view, event) : view;
}

/**
 * The one thing no event carries: the viewer's own bowl. When a `bowl.submitted` names the
 * viewer, the table's `bowl` becomes the bowl this client sent for that round.
 */
export function ownBowl(view, bowl) {
  return { ...view, bowl };
}
