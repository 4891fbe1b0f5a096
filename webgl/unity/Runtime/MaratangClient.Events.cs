using System;
using Maratang.Protocol;

namespace Maratang
{
    /// <summary>
    /// The client's events. Every handler runs through the dispatcher (the game's thread, or
    /// <see cref="DispatchPending"/>), never on a socket thread, in the order things happened.
    /// Session events are raised once each, in seq order, after <see cref="State"/> includes them.
    /// </summary>
    public sealed partial class MaratangClient
    {
        /// <summary>A socket was welcomed (after <see cref="ConnectAsync"/>, and after every reconnect).</summary>
        public event Action<Welcome> Welcomed;

        /// <summary>The client is connected and welcomed; commands go out now.</summary>
        public event Action Connected;

        /// <summary>A welcomed socket ended (<see cref="Disconnect.WillReconnect"/> says whether
        /// the client reconnects), or the client stopped for good and says why.</summary>
        public event Action<Disconnect> Disconnected;

        /// <summary>Another attempt is about to start: its number (from 0) and the delay before it.</summary>
        public event Action<int, TimeSpan> Reconnecting;

        /// <summary>The server sent the whole table; <see cref="State"/> was replaced by it.</summary>
        public event Action<Sync> Synced;

        /// <summary>The view changed (a sync, an event, or the table left: null).</summary>
        public event Action<TableView> StateChanged;

        /// <summary>Every session event applied, whatever its type (unknown ones included).</summary>
        public event Action<SessionEvent> EventApplied;

        public event Action<PlayerJoined> PlayerJoined;
        public event Action<PlayerLeft> PlayerLeft;
        public event Action<PlayerAway> PlayerAway;
        public event Action<PlayerBack> PlayerBack;
        public event Action<HostChanged> HostChanged;
        public event Action<SettingsChanged> SettingsChanged;
        public event Action<GameStarted> GameStarted;
        public event Action<RoundStarted> RoundStarted;
        public event Action<BowlSubmitted> BowlSubmitted;
        public event Action<RoundResolved> RoundResolved;
        public event Action<GameOver> GameOver;
        public event Action<SessionClosed> SessionClosed;

        /// <summary>A narration begins (its nid, kind and round).</summary>
        public event Action<NarrationStart> NarrationStarted;

        /// <summary>More narration: nid, the new piece (append it as is), and the text so far.</summary>
        public event Action<string, string, string> NarrationDelta;

        /// <summary>A narration is complete: nid, its full text (replace what you showed), and its source.</summary>
        public event Action<string, string, string> NarrationEnded;

        private void Emit(Action handler)
        {
            _dispatcher.Post(handler);
        }

        /// <summary>Raises <paramref name="handlers"/> (as subscribed now) with the event as its own type.</summary>
        private void Raise<T>(Action<T> handlers, SessionEvent e) where T : SessionEvent
        {
            if (handlers != null) Emit(() => handlers((T)e));
        }

        private void EmitState()
        {
            TableView view = _table.View;
            Emit(() => StateChanged?.Invoke(view));
        }

        private void EmitEvent(SessionEvent e, TableView view)
        {
            Emit(() => EventApplied?.Invoke(e));
            switch (e.T)
            {
                case MessageType.PlayerJoined: Raise(PlayerJoined, e); break;
                case MessageType.PlayerLeft: Raise(PlayerLeft, e); break;
                case MessageType.PlayerAway: Raise(PlayerAway, e); break;
                case MessageType.PlayerBack: Raise(PlayerBack, e); break;
                case MessageType.HostChanged: Raise(HostChanged, e); break;
                case MessageType.SettingsChanged: Raise(SettingsChanged, e); break;
                case MessageType.GameStarted: Raise(GameStarted, e); break;
                case MessageType.RoundStarted: Raise(RoundStarted, e); break;
                case MessageType.BowlSubmitted: Raise(BowlSubmitted, e); break;
                case MessageType.RoundResolved: Raise(RoundResolved, e); break;
                case MessageType.GameOver: Raise(GameOver, e); break;
                case MessageType.SessionClosed: Raise(SessionClosed, e); break;
                case MessageType.NarrationStart: Raise(NarrationStarted, e); break;
                case MessageType.NarrationDelta:
                    var delta = (Protocol.NarrationDelta)e;
                    string soFar = view.Narration != null && view.Narration.Nid == delta.Nid ? view.Narration.Text : delta.Text;
                    Emit(() => NarrationDelta?.Invoke(delta.Nid, delta.Text, soFar));
                    break;
                case MessageType.NarrationEnd:
                    var end = (NarrationEnd)e;
                    Emit(() => NarrationEnded?.Invoke(end.Nid, end.Text, end.Source));
                    break;
            }
            Emit(() => StateChanged?.Invoke(view));
        }
    }
}
