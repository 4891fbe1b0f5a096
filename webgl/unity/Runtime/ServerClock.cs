using System;

namespace Maratang
{
    /// <summary>
    /// The server's clock as seen from here, for countdowns to <c>round.started.deadline</c>:
    /// every <c>pong</c> gives an offset (<c>server_time − (ts + rtt/2)</c>) and the one measured
    /// with the shortest round trip is kept; before any, <c>welcome.server_time</c> gives a first guess.
    /// </summary>
    public sealed class ServerClock
    {
        private readonly object _gate = new object();
        private double _offsetMs;
        private double _bestRttMs = double.PositiveInfinity;
        private bool _known;

        /// <summary>The shortest round trip measured, or null before any pong.</summary>
        public TimeSpan? RoundTrip
        {
            get
            {
                lock (_gate) return double.IsInfinity(_bestRttMs) ? (TimeSpan?)null : TimeSpan.FromMilliseconds(_bestRttMs);
            }
        }

        /// <summary>The server's time now, in ms since the epoch (the local clock until the first welcome).</summary>
        public long NowMs(double localNowMs)
        {
            lock (_gate) return (long)Math.Round(localNowMs + _offsetMs);
        }

        /// <summary>How long until the server's clock reads <paramref name="serverMs"/> (negative once past).</summary>
        public TimeSpan Until(long serverMs, double localNowMs)
        {
            return TimeSpan.FromMilliseconds(serverMs - NowMs(localNowMs));
        }

        /// <summary>A welcome's <c>server_time</c>, received at <paramref name="localNowMs"/>: a guess until a pong.</summary>
        public void Welcomed(long serverTimeMs, double localNowMs)
        {
            lock (_gate)
            {
                if (!_known) _offsetMs = serverTimeMs - localNowMs;
                _known = true;
            }
        }

        /// <summary>A pong for a ping sent at local <paramref name="sentMs"/>, received at <paramref name="localNowMs"/>.</summary>
        public void Ponged(double sentMs, long serverTimeMs, double localNowMs)
        {
            double rtt = Math.Max(0, localNowMs - sentMs);
            lock (_gate)
            {
                if (rtt > _bestRttMs) return;
                _bestRttMs = rtt;
                _offsetMs = serverTimeMs - (sentMs + rtt / 2);
                _known = true;
            }
        }
    }
}
