using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Maratang.Protocol;

namespace Maratang
{
    /// <summary>
    /// The connection: one supervisor loop opens a socket, says hello (resuming the table from its
    /// seq), keeps it alive with a liveness ping, and after it ends waits out a full-jitter backoff
    /// and opens the next one — until a terminal ending, the retry budget, or the app stops it.
    /// Frames are handled one at a time under one lock, so the view and seq are never raced.
    /// </summary>
    public sealed partial class MaratangClient
    {
        private readonly Backoff _backoff;
        private readonly TransportFactory _transports;
        private readonly Wakeup _wake = new Wakeup();
        private TaskCompletionSource<Link> _ready = NewReady();
        private Task _supervisor;
        private Link _link;
        private TimeSpan _heartbeat = TimeSpan.FromSeconds(20);
        private TimeSpan _byeDelay;
        private bool _paused;
        private bool _kick;
        private bool _stopping;

        /// <summary>True while a welcomed socket is open.</summary>
        public bool IsConnected
        {
            get { lock (_gate) return _link != null && _link.IsWelcomed; }
        }

        /// <summary>
        /// Connects (if not already) and completes once welcomed. From then on the client
        /// reconnects by itself; it fails with a <see cref="MaratangException"/> when it stops
        /// for good first (its code: the server's error, such as <c>unauthorized</c>, or
        /// <see cref="MaratangException.Offline"/>).
        /// </summary>
        public Task ConnectAsync()
        {
            lock (_gate)
            {
                if (Token == null) throw new InvalidOperationException("sign in (or set Token) before connecting");
                if (_supervisor == null || _supervisor.IsCompleted)
                {
                    _stopping = false;
                    _backoff.Reset();
                    if (_ready.Task.IsCompleted) _ready = NewReady();
                    _supervisor = SuperviseAsync();
                }
                return _ready.Task;
            }
        }

        /// <summary>Closes the socket (1000) and stops reconnecting; the seat stays held for the grace period.</summary>
        public async Task DisconnectAsync()
        {
            Link link;
            Task supervisor;
            lock (_gate)
            {
                _stopping = true;
                link = _link;
                supervisor = _supervisor;
            }
            _wake.Set();
            if (link != null)
            {
                link.Transport.Close(CloseCode.Normal, "bye");
                if (!await _options.Delay.FinishesWithin(link.Closed.Task, _options.ConnectTimeout))
                    link.Transport.Abort();
            }
            if (supervisor != null) await supervisor;
        }

        public void Dispose()
        {
            Link link;
            lock (_gate)
            {
                _stopping = true;
                link = _link;
            }
            _wake.Set();
            link?.Transport.Abort();
            _http?.Dispose();
        }

        private async Task SuperviseAsync()
        {
            await Task.Yield(); // off the caller's stack (and out of its lock); no thread of our own, for WebGL
            try
            {
                await ReconnectLoopAsync();
            }
            catch (Exception e)
            {
                // a transport that cannot be made on this platform, or a bug: stop, and say so
                lock (_gate) Finish(new Disconnect(ClosePolicy.Lost, 0, null, "the connection failed: " + e, false));
            }
        }

        private async Task ReconnectLoopAsync()
        {
            bool retry = false;
            while (true)
            {
                Task woken;
                TimeSpan delay = TimeSpan.Zero;
                bool paused;
                lock (_gate)
                {
                    woken = _wake.Current;
                    paused = _paused;
                    if (_stopping)
                    {
                        Finish(new Disconnect(CloseCode.Normal, 0, null, "closed by the app", false));
                        return;
                    }
                    if (!paused && retry && !_kick)
                    {
                        if (_backoff.Exhausted)
                        {
                            Finish(new Disconnect(ClosePolicy.Lost, 0, null,
                                "gave up after " + _backoff.Budget + " attempts", false));
                            return;
                        }
                        delay = NextDelay();
                    }
                    _kick = _kick && paused; // spent by this attempt
                }
                if (paused)
                {
                    await woken;
                    continue;
                }
                if (delay > TimeSpan.Zero && await _options.Delay.FinishesWithin(woken, delay))
                    continue;
                Disconnect ending = await RunLinkAsync();
                if (!ending.WillReconnect)
                {
                    lock (_gate) Finish(ending);
                    return;
                }
                retry = true;
            }
        }

        /// <summary>Spends one attempt of the budget; announces it. Under the lock.</summary>
        private TimeSpan NextDelay()
        {
            int attempt = _backoff.Attempt;
            TimeSpan delay = _backoff.Next();
            if (delay < _byeDelay) delay = _byeDelay;
            _byeDelay = TimeSpan.Zero;
            Emit(() => Reconnecting?.Invoke(attempt, delay));
            return delay;
        }

        /// <summary>One socket, from opening to its end; how it ended.</summary>
        private async Task<Disconnect> RunLinkAsync()
        {
            var link = new Link(_transports());
            link.Transport.Message += text => OnFrame(link, text);
            try
            {
                using (var timeout = new Deadline(_options.Delay, _options.ConnectTimeout))
                    await link.Transport.ConnectAsync(_options.SocketUrl(), Wire.JsonSubprotocol, timeout.Token);
            }
            catch (Exception e) when (e is TransportException || e is OperationCanceledException)
            {
                link.Transport.Dispose();
                int status = (e as TransportException)?.Status ?? 0;
                return new Disconnect(0, status, null, e.Message, ClosePolicy.ShouldRetryHandshake(status));
            }
            await HelloAsync(link);
            Task answered = Task.WhenAny(link.Welcomed.Task, link.Closed.Task);
            if (!await _options.Delay.FinishesWithin(answered, _options.ConnectTimeout))
                lock (_gate)
                    if (!link.IsWelcomed) link.Transport.Abort(); // else its Welcomed is on its way
            KeyValuePair<int, string> closed = await link.Closed.Task;
            link.Transport.Dispose();
            lock (_gate) return Ended(link, closed.Key, closed.Value);
        }

        private async Task HelloAsync(Link link)
        {
            Hello hello;
            lock (_gate)
            {
                _link = link;
                link.Resumed = _table.ResumePoint;
                hello = new Hello { Token = Token, Resume = link.Resumed };
                if (_stopping) link.Transport.Close(CloseCode.Normal, "bye");
            }
            try
            {
                await link.Transport.SendAsync(JsonCodec.Encode(hello), CancellationToken.None);
            }
            catch (TransportException)
            {
                link.Transport.Abort(); // its Closed reports the end
            }
        }

        /// <summary>The socket is gone: fail what waited on it and say so. Under the lock.</summary>
        private Disconnect Ended(Link link, int code, string reason)
        {
            _link = null;
            link.StopLiveness();
            link.FailPending("the socket closed (" + code + ")");
            if (_ready.Task.IsCompleted) _ready = NewReady();
            var ending = new Disconnect(code, 0, link.Refusal?.Code, link.Refusal?.Message ?? link.Cause ?? reason,
                ClosePolicy.ShouldReconnect(code, _stopping));
            if (link.IsWelcomed && ending.WillReconnect) Emit(() => Disconnected?.Invoke(ending));
            return ending;
        }

        /// <summary>The client stops for good: commands fail from now on. Under the lock.</summary>
        private void Finish(Disconnect ending)
        {
            Emit(() => Disconnected?.Invoke(ending));
            if (_ready.Task.IsCompleted) _ready = NewReady();
            TaskCompletionSource<Link> ready = _ready;
            var failure = new MaratangException(ending.Error ?? MaratangException.Offline, ending.ToString());
            Later.Run(() => ready.TrySetException(failure));
        }

        /// <summary>The welcomed connection, waiting for one while the client reconnects.</summary>
        private async Task<Link> ReadyAsync(CancellationToken timeout, string what)
        {
            Task<Link> ready;
            lock (_gate)
            {
                if (_supervisor == null) throw new MaratangException(MaratangException.Offline, "not connected: call ConnectAsync");
                ready = _ready.Task;
            }
            var expired = new TaskCompletionSource<bool>();
            using (timeout.Register(() => expired.TrySetResult(true)))
            {
                if (await Task.WhenAny(ready, expired.Task) != ready)
                    throw new TimeoutException(what + " waited for a connection in vain");
            }
            return await ready;
        }

        private static TaskCompletionSource<Link> NewReady()
        {
            var ready = new TaskCompletionSource<Link>(); // settled through Later: under the lock
            // observed (no unobserved-exception noise), where it fails: not on the thread pool
            ready.Task.ContinueWith(t => t.Exception,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
            return ready;
        }
    }
}
