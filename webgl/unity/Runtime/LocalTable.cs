using System.Collections.Generic;
using Maratang.Protocol;

namespace Maratang
{
    /// <summary>What became of one session event offered to a <see cref="LocalTable"/>.</summary>
    public enum Verdict
    {
        /// <summary>The next event in seq order: the view now includes it.</summary>
        Applied,

        /// <summary>Its seq was applied already (a replay after resume): dropped.</summary>
        Duplicate,

        /// <summary>It skips ahead: events were lost, the client must resume from <see cref="LocalTable.Seq"/>.</summary>
        Gap,

        /// <summary>Not the table this client sits at (or none yet): ignored.</summary>
        Elsewhere,
    }

    /// <summary>
    /// The client's copy of its table: the view as of the highest applied seq, kept by a
    /// <c>sync</c> (which replaces it) and the session events after it, applied strictly in seq
    /// order. Not thread-safe: the client drives it from one logical sequence.
    /// </summary>
    public sealed class LocalTable
    {
        private readonly Dictionary<long, Bowl> _ownBowls = new Dictionary<long, Bowl>();

        /// <summary>The signed-in player, whose own bowl the view shows.</summary>
        public string Viewer { get; set; }

        public string Session { get; private set; }

        /// <summary>The highest seq applied (or given by the last sync).</summary>
        public long Seq { get; private set; }

        public TableView View { get; private set; }

        /// <summary>Where a new socket should resume from, or null when there is no table.</summary>
        public Resume ResumePoint => View == null ? null : new Resume { Session = Session, Seq = Seq };

        /// <summary>Takes a sync as the truth: its state and seq replace whatever was here.</summary>
        public void Load(Sync sync)
        {
            if (sync.Session != Session) _ownBowls.Clear();
            Session = sync.Session;
            Seq = sync.Seq;
            View = sync.State;
        }

        public void Forget()
        {
            Session = null;
            Seq = 0;
            View = null;
            _ownBowls.Clear();
        }

        /// <summary>The bowl this player sent for <paramref name="round"/>, shown once the server confirms it.</summary>
        public void RememberBowl(long round, Bowl bowl)
        {
            _ownBowls[round] = bowl;
        }

        public Verdict Offer(SessionEvent e)
        {
            if (View == null || e.Session != Session) return Verdict.Elsewhere;
            if (e.Seq <= Seq) return Verdict.Duplicate;
            if (e.Seq != Seq + 1) return Verdict.Gap;
            Seq = e.Seq;
            View = TableReducer.Apply(View, e);
            var submitted = e as BowlSubmitted;
            Bowl bowl;
            if (submitted != null && submitted.Player == Viewer && submitted.Round == View.Round
                && _ownBowls.TryGetValue(submitted.Round, out bowl))
                View = TableReducer.OwnBowl(View, bowl);
            return Verdict.Applied;
        }
    }
}
