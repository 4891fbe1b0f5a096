using System;
using System.Diagnostics;

namespace Maratang
{
    /// <summary>How a <see cref="NarrationPacer"/> paces the narration; the defaults suit Korean.</summary>
    public sealed class NarrationPaceOptions
    {
        /// <summary>Characters shown per second when nothing waits behind them (Korean reads at about 30).</summary>
        public double CharactersPerSecond { get; set; } = 30;

        /// <summary>A backlog (a burst after a stall) is drained within about this long: the rate is
        /// the larger of <see cref="CharactersPerSecond"/> and the backlog divided by this.</summary>
        public TimeSpan CatchUp { get; set; } = TimeSpan.FromSeconds(1.5);

        /// <summary>A streaming narration with everything received shown and nothing new for this
        /// long is <see cref="NarrationPacer.Stalled"/>.</summary>
        public TimeSpan StallAfter { get; set; } = TimeSpan.FromSeconds(1.2);

        /// <summary>After a welcome that resumed the table the missed events arrive at once: text
        /// received within this long was told while the player was away, and is shown at once.</summary>
        public TimeSpan ResumeWindow { get; set; } = TimeSpan.FromMilliseconds(300);

        /// <summary>The pacer's clock (any origin); default: a <see cref="Stopwatch"/>.</summary>
        public Func<TimeSpan> Clock { get; set; }

        internal Func<TimeSpan> ClockOrDefault()
        {
            if (Clock != null) return Clock;
            Stopwatch watch = Stopwatch.StartNew();
            return () => watch.Elapsed;
        }
    }
}
