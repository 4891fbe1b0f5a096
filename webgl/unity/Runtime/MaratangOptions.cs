using System;
using System.Threading.Tasks;

namespace Maratang
{
    /// <summary>How a <see cref="MaratangClient"/> reaches its server and behaves when the network does not.</summary>
    public sealed class MaratangOptions
    {
        /// <summary>The server's HTTP address, e.g. <c>https://maratang.example</c> (a path prefix is kept).</summary>
        public Uri Server { get; set; }

        /// <summary>The WebSocket endpoint; by default <c>/ws</c> on <see cref="Server"/> (ws:// or wss://).</summary>
        public Uri Socket { get; set; }

        /// <summary>How long a command waits for its answer, including a wait for a reconnect.</summary>
        public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(15);

        /// <summary>How long one attempt may take to open the socket and be welcomed.</summary>
        public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

        public TimeSpan ReconnectBase { get; set; } = TimeSpan.FromMilliseconds(500);

        public TimeSpan ReconnectCap { get; set; } = TimeSpan.FromSeconds(15);

        /// <summary>Attempts without a welcome before the client gives up (reset by a welcome or <see cref="MaratangClient.Resume"/>).</summary>
        public int RetryBudget { get; set; } = 12;

        /// <summary>Interval of the liveness ping; null: the server's <c>welcome.heartbeat_ms</c>.</summary>
        public TimeSpan? PingInterval { get; set; }

        /// <summary>How long a liveness ping may go unanswered before the socket is replaced; null: the interval.</summary>
        public TimeSpan? PingTimeout { get; set; }

        /// <summary>How long the socket may take to answer the probe sent when the app comes back.</summary>
        public TimeSpan ResumeProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);

        /// <summary>Makes each connection attempt's socket; default <see cref="ClientWebSocketTransport"/>.</summary>
        public TransportFactory Transport { get; set; }

        /// <summary>
        /// Runs an event handler on the game's thread. Default: the <c>SynchronizationContext</c>
        /// current when the client is made (Unity's main thread has one); without one, handlers
        /// wait in a queue that <see cref="MaratangClient.DispatchPending"/> runs. A post that runs
        /// the handler at once runs it on the socket's thread, where a handler that blocks on a
        /// command's result would wait forever.
        /// </summary>
        public Action<Action> Post { get; set; }

        /// <summary>
        /// Every wait of the client (connect and command timeouts, backoff, liveness, probe, a
        /// <c>bye</c>'s <c>retry_ms</c>) runs on this; default <see cref="Task.Delay(TimeSpan, System.Threading.CancellationToken)"/>.
        /// A WebGL build has no thread for .NET's timers, so <c>MaratangBehaviour</c> sets the
        /// browser's timers (<c>WebGLTimers.Delay</c>) there.
        /// </summary>
        public Delay Delay { get; set; } = Task.Delay;

        /// <summary>Uniform in [0, 1), for the backoff's jitter; default <see cref="System.Random"/>.</summary>
        public Func<double> Random { get; set; }

        public MaratangOptions(Uri server)
        {
            Server = server ?? throw new ArgumentNullException(nameof(server));
        }

        public MaratangOptions(string server) : this(new Uri(server))
        {
        }

        /// <summary>Where sockets open: <see cref="Socket"/>, or <c>/ws</c> under <see cref="Server"/>.</summary>
        public Uri SocketUrl()
        {
            return Socket ?? On(Server.Scheme == "https" ? "wss" : "ws", "ws");
        }

        /// <summary>An endpoint of the HTTP API, e.g. <c>api/auth/guest</c>.</summary>
        public Uri HttpUrl(string path)
        {
            return On(Server.Scheme, path);
        }

        private Uri On(string scheme, string path)
        {
            var builder = new UriBuilder(Server) { Scheme = scheme };
            builder.Path = builder.Path.TrimEnd('/') + "/" + path;
            return builder.Uri;
        }
    }
}
