// What a page shows beside the table itself: every resolved round of the current game, and the
// name of everyone seen at the table (a player who left still has a name in the results).

import { MESSAGE } from './protocol.js';

export class TableHistory {
  constructor({ rounds = [], names = {} } = {}) {
    /** Resolved rounds, oldest first: [{round, customer, results, totals}]. */
    this.rounds = Array.isArray(rounds) ? rounds : [];
    /** Player names by id. */
    this.names = names && typeof names === 'object' ? names : {};
  }

  /** A `sync`: the names it shows, and its round's results when it has them. */
  synced(state) {
    for (const seat of state.players) this.names[seat.id] = seat.name;
    for (const entry of state.ranking || []) this.names[entry.player] = entry.name;
    if (state.results && state.round) {
      const totals = Object.fromEntries(state.players.map((seat) => [seat.id, seat.total]));
      this._remember({ round: state.round, customer: state.customer, results: state.results, totals });
    }
  }

  /** An event just applied to `view`. */
  applied(event, view) {
    switch (event.t) {
      case MESSAGE.PLAYER_JOINED:
        this.names[event.player.id] = event.player.name;
        break;
      case MESSAGE.ROUND_RESOLVED: {
        const { round, results, totals } = event;
        this._remember({ round, customer: view.customer, results, totals });
        break;
      }
      case MESSAGE.GAME_STARTED:
        this.rounds = [];
        break;
      default:
    }
  }

  /** A new array each time, so a view can tell the rounds changed by reference. */
  _remember(entry) {
    this.rounds = [...this.rounds.filter((old) => old.round !== entry.round), entry].sort(
      (a, b) => a.round - b.round,
    );
  }
}
