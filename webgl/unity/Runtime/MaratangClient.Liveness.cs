using System;
using System.Threading;
using System.Threading.Tasks;
using Maratang.Protocol;

namespace Maratang
{
    /// <summary>
    /// Liveness: a ping every heartbeat (unless the transport runs its own) finds a socket that
    /// is open but dead and replaces it; pausing stops it and the reconnect loop, resuming probes
    /// the socket at once.
    /// </summary>
    public sealed partial class MaratangClient
    {
        /// <summary>
        /// The app went to the background: stop the liveness ping and the reconnect loop. No
        /// attempt is spent while paused; the socket is left as it is.
        /// </summary>
        public void Pause()
        {
            lock (_gate)
            {
                if (_paused) return;
                _paused = true;
                _link?.StopLiveness();
            }
            _wake.Set();
        }

        /// <summary>
        /// The app is back: probe the socket at once (a ping with a short timeout) and replace it
        /// if it died meanwhile, or reconnect at once if it is gone — with the retry budget reset.
        /// </summary>
        public void Resume()
        {
            Link link;
            lock (_gate)
            {
                if (!_paused) return;
                _paused = false;
                _kick = true;
                _backoff.Reset();
                link = _link;
            }
            _wake.Set();
            if (link != null && link.IsWelcomed) _ = ProbeAfterResumeAsync(link);
        }

        /// <summary>Starts the liveness ping of a welcomed socket. Under the lock.</summary>
        private void StartLiveness(Link link)
        {
            TimeSpan interval = _options.PingInterval ?? _heartbeat;
            TimeSpan timeout = _options.PingTimeout ?? interval;
            if (interval <= TimeSpan.Zero) return; // no heartbeat asked for
            if (link.Transport.KeepsAlive)
            {
                link.Transport.StartLiveness((int)interval.TotalMilliseconds, (int)timeout.TotalMilliseconds);
                return;
            }
            link.StopLiveness();
            link.Liveness = new CancellationTokenSource();
            CancellationToken stop = link.Liveness.Token;
            _ = LivenessAsync(link, interval, timeout, stop);
        }

        private async Task LivenessAsync(Link link, TimeSpan interval, TimeSpan timeout, CancellationToken stop)
        {
            try
            {
                do await _options.Delay(interval, stop);
                while (!stop.IsCancellationRequested && await ProbeAsync(link, timeout));
            }
            catch (OperationCanceledException)
            {
                // paused, or the socket ended
            }
        }

        /// <summary>A ping on <paramref name="link"/>; a socket that does not answer in time is aborted (and replaced).</summary>
        private async Task<bool> ProbeAsync(Link link, TimeSpan timeout)
        {
            using (var expiry = new Deadline(_options.Delay, timeout))
            {
                try
                {
                    await SendAsync(link, new Ping { Ts = NowMs() }, expiry.Token);
                    return true;
                }
                catch (TimeoutException)
                {
                    link.Drop("no pong within " + (long)timeout.TotalMilliseconds + " ms: the socket is dead");
                    return false;
                }
                catch (MaratangException)
                {
                    return true; // refused (rate limited: alive) or already lost: nothing to replace
                }
            }
        }

        private async Task ProbeAfterResumeAsync(Link link)
        {
            if (!await ProbeAsync(link, _options.ResumeProbeTimeout)) return;
            lock (_gate)
            {
                _kick = false;
                if (_link == link && !_paused) StartLiveness(link);
            }
        }
    }
}
