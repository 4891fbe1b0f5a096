using System;
using System.Collections.Generic;
using System.Linq;
using Maratang.Protocol;

namespace Maratang
{
    /// <summary>
    /// The table after one session event: the rules of the reference reducer
    /// (<c>protocol/reducer.py</c>), judged by <c>protocol/vectors/reducer.json</c>. Pure: the view
    /// passed in is never changed (a new one comes back, sharing the parts that did not change),
    /// so a view handed to game code stays as it was. <c>game.started</c> and events of unknown
    /// types change nothing: the round a game starts comes with <c>round.started</c>.
    /// </summary>
    public static class TableReducer
    {
        public static TableView Apply(TableView view, SessionEvent e)
        {
            if (view == null) throw new ArgumentNullException(nameof(view));
            switch (e.T)
            {
                case MessageType.PlayerJoined: return Joined(view, ((PlayerJoined)e).Player);
                case MessageType.PlayerLeft: return Left(view, ((PlayerLeft)e).Player);
                case MessageType.PlayerAway: return WithSeat(view, ((PlayerAway)e).Player, s => s.Away = true);
                case MessageType.PlayerBack: return WithSeat(view, ((PlayerBack)e).Player, s => s.Away = false);
                case MessageType.HostChanged: return Copy(view, v => v.Host = ((HostChanged)e).Host);
                case MessageType.SettingsChanged: return SettingsChanged(view, (SettingsChanged)e);
                case MessageType.RoundStarted: return RoundStarted(view, (RoundStarted)e);
                case MessageType.BowlSubmitted: return BowlSubmitted(view, (BowlSubmitted)e);
                case MessageType.RoundResolved: return RoundResolved(view, (RoundResolved)e);
                case MessageType.NarrationStart: return NarrationStart(view, (NarrationStart)e);
                case MessageType.NarrationDelta: return NarrationDelta(view, (NarrationDelta)e);
                case MessageType.NarrationEnd: return NarrationEnd(view, (NarrationEnd)e);
                case MessageType.GameOver: return GameOver(view, (GameOver)e);
                case MessageType.SessionClosed: return Copy(view, v => { v.Phase = "closed"; v.Deadline = null; });
                default: return view;
            }
        }

        /// <summary>The viewer's own bowl for the current round, which no event carries.</summary>
        public static TableView OwnBowl(TableView view, Bowl bowl)
        {
            return Copy(view, v => v.Bowl = bowl);
        }

        private static TableView Joined(TableView view, PlayerView player)
        {
            if (view.Players.Any(s => s.Id == player.Id))
                return WithSeat(view, player.Id, s => { s.Name = player.Name; s.Away = false; });
            var players = new List<SeatView>(view.Players) { new SeatView { Id = player.Id, Name = player.Name } };
            return Copy(view, players: players);
        }

        private static TableView Left(TableView view, string player)
        {
            return Copy(view, players: view.Players.Where(s => s.Id != player).ToList());
        }

        private static TableView SettingsChanged(TableView view, SettingsChanged e)
        {
            return Copy(view, v => v.Settings = new Settings { Rounds = e.Rounds, Seconds = e.Seconds, Lang = e.Lang });
        }

        private static TableView BowlSubmitted(TableView view, BowlSubmitted e)
        {
            return e.Round == view.Round ? WithSeat(view, e.Player, s => s.Submitted = true) : view;
        }

        private static TableView NarrationStart(TableView view, NarrationStart e)
        {
            return Copy(view, v => v.Narration = new NarrationView { Nid = e.Nid, Kind = e.Kind, Text = "" });
        }

        private static TableView GameOver(TableView view, GameOver e)
        {
            return Copy(view, v => { v.Phase = "over"; v.Deadline = null; v.Ranking = e.Ranking; });
        }

        private static TableView RoundStarted(TableView view, RoundStarted e)
        {
            TableView next = WithSeats(view, s => s.Submitted = false);
            next.Phase = "picking";
            next.Round = e.Round;
            next.Customer = e.Customer;
            next.Deadline = e.Deadline;
            next.Bowl = null;
            next.Results = null;
            return next;
        }

        private static TableView RoundResolved(TableView view, RoundResolved e)
        {
            TableView next = WithSeats(view, s =>
            {
                long total;
                if (e.Totals != null && e.Totals.TryGetValue(s.Id, out total)) s.Total = total;
            });
            next.Phase = "tasting";
            next.Round = e.Round;
            next.Deadline = null;
            next.Results = e.Results;
            return next;
        }

        /// <summary>A delta or end of a narration this view never saw start changes nothing.</summary>
        private static TableView NarrationDelta(TableView view, NarrationDelta e)
        {
            NarrationView current = view.Narration;
            if (current == null || current.Nid != e.Nid) return view;
            return Copy(view, v => v.Narration = new NarrationView
            {
                Nid = current.Nid, Kind = current.Kind, Text = current.Text + e.Text, Source = current.Source,
            });
        }

        private static TableView NarrationEnd(TableView view, NarrationEnd e)
        {
            NarrationView current = view.Narration;
            if (current == null || current.Nid != e.Nid) return view;
            return Copy(view, v => v.Narration = new NarrationView
            {
                Nid = current.Nid, Kind = current.Kind, Text = e.Text, Source = e.Source,
            });
        }

        private static TableView WithSeat(TableView view, string id, Action<SeatView> change)
        {
            return WithSeats(view, s => { if (s.Id == id) change(s); });
        }

        private static TableView WithSeats(TableView view, Action<SeatView> change)
        {
            var players = view.Players.Select(s =>
            {
                var seat = new SeatView { Id = s.Id, Name = s.Name, Total = s.Total, Away = s.Away, Submitted = s.Submitted };
                change(seat);
                return seat;
            }).ToList();
            return Copy(view, players: players);
        }

        /// <summary>A shallow copy of the view (its seats list replaced when given), then changed.</summary>
        private static TableView Copy(TableView view, Action<TableView> change = null, List<SeatView> players = null)
        {
            var next = new TableView
            {
                Code = view.Code, Phase = view.Phase, Settings = view.Settings, Players = players ?? view.Players,
                Round = view.Round, Host = view.Host, Customer = view.Customer, Deadline = view.Deadline,
                Bowl = view.Bowl, Results = view.Results, Narration = view.Narration, Ranking = view.Ranking,
                Restored = view.Restored,
            };
            change?.Invoke(next);
            return next;
        }
    }
}
