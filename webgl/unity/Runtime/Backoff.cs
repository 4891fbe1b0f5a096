using System;

namespace Maratang
{
    /// <summary>
    /// Reconnect delays with full jitter: attempt <c>n</c> (from 0) waits a random time in
    /// [0, min(cap, base·2^n)), and after <see cref="Budget"/> attempts without a welcome the
    /// client gives up. A welcome, or the app coming back to the foreground, resets it.
    /// </summary>
    public sealed class Backoff
    {
        private readonly TimeSpan _base;
        private readonly TimeSpan _cap;
        private readonly Func<double> _random;

        /// <summary>Attempts allowed between two resets.</summary>
        public int Budget { get; }

        /// <summary>Attempts spent since the last reset.</summary>
        public int Attempt { get; private set; }

        public bool Exhausted => Attempt >= Budget;

        /// <param name="random">Uniform in [0, 1); injected so tests can pin it.</param>
        public Backoff(TimeSpan @base, TimeSpan cap, int budget, Func<double> random)
        {
            if (@base <= TimeSpan.Zero || cap < @base) throw new ArgumentOutOfRangeException(nameof(cap));
            if (budget < 1) throw new ArgumentOutOfRangeException(nameof(budget));
            _base = @base;
            _cap = cap;
            Budget = budget;
            _random = random ?? throw new ArgumentNullException(nameof(random));
        }

        /// <summary>The upper bound of attempt <paramref name="attempt"/>'s delay: min(cap, base·2^attempt).</summary>
        public TimeSpan Ceiling(int attempt)
        {
            double ms = _base.TotalMilliseconds * Math.Pow(2, Math.Min(Math.Max(attempt, 0), 30));
            return TimeSpan.FromMilliseconds(Math.Min(_cap.TotalMilliseconds, ms));
        }

        /// <summary>Spends one attempt and returns how long to wait before it.</summary>
        public TimeSpan Next()
        {
            if (Exhausted) throw new InvalidOperationException("the retry budget is spent");
            double ceiling = Ceiling(Attempt).TotalMilliseconds;
            Attempt++;
            return TimeSpan.FromMilliseconds(Math.Floor(_random() * ceiling));
        }

        public void Reset()
        {
            Attempt = 0;
        }
    }
}
