// The table view reducer: a TableView (the wire shape `sync.state` carries) and the session
// events after it, applied one at a time, give the table exactly as the server would show it
// to this player. It is the port of the server's rules, judged by protocol/vectors/reducer.json.
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

/** The kind a narration id names: `finale`, or the part after the round in `r2.tasting`. */
export function narrationKind(nid) {
  return nid === 'finale' ? 'finale' : nid.slice(nid.indexOf('.') + 1);
}

const RULES = {
  [MESSAGE.PLAYER_JOINED]: (view, { player }) =>
    view.players.some((seat) => seat.id === player.id)
      ? view
      : {
          ...view,
          players: [
            ...view.players,
            { id: player.id, name: player.name, total: 0, away: false, submitted: false },
          ],
        },
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
  [MESSAGE.BOWL_SUBMITTED]: (view, { player }) => withSeat(view, player, { submitted: true }),
  [MESSAGE.ROUND_RESOLVED]: (view, { results, totals }) => ({
    ...withSeats(view, (seat) => (seat.id in totals ? { ...seat, total: totals[seat.id] } : seat)),
    phase: 'tasting',
    deadline: null,
    results,
  }),
  [MESSAGE.NARRATION_START]: (view, { nid, kind }) => ({
    ...view,
    narration: { nid, kind, text: '' },
  }),
  [MESSAGE.NARRATION_DELTA]: (view, { nid, text }) => {
    const told = view.narration && view.narration.nid === nid ? view.narration.text : '';
    return { ...view, narration: { nid, kind: narrationKind(nid), text: told + text } };
  },
  [MESSAGE.NARRATION_END]: (view, { nid, text, source }) => ({
    ...view,
    narration: { nid, kind: narrationKind(nid), text, source },
  }),
  [MESSAGE.GAME_OVER]: (view, { ranking }) => ({ ...view, phase: 'over', ranking }),
  [MESSAGE.SESSION_CLOSED]: (view) => ({ ...view, phase: 'closed', deadline: null }),
};

/**
 * The table after one session event. Events that change nothing a player sees
 * (`game.started`: its round follows at once) and unknown event types leave it unchanged.
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
