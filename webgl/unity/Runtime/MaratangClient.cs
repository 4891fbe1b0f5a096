using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Maratang.Protocol;

namespace Maratang
{
    /// <summary>
    /// One signed-in player at a Maratang server: sign-in, one socket kept alive across network
    /// trouble, the table as the server shows it (<see cref="State"/>), Task-based commands and
    /// typed events delivered on the game's thread.
    /// <para>
    /// Commands wait for a connection: one sent while the client is reconnecting is sent once it
    /// is welcomed again, if that happens within the command's timeout (else
    /// <see cref="TimeoutException"/>). A command whose socket is lost before its answer fails
    /// with <see cref="MaratangException.ConnectionLost"/>; one sent after the client stopped for
    /// good fails at once with <see cref="MaratangException.Offline"/>.
    /// </para>
    /// <example>
    /// <code>
    /// var client = new MaratangClient("https://maratang.example");
    /// client.RoundStarted += e => ShowCustomer(e.Customer);
    /// client.NarrationDelta += (nid, delta, soFar) => subtitle.text = soFar;
    /// client.StateChanged += view => Render(view);
    /// await client.SignInAsync("민지");
    /// await client.ConnectAsync();
    /// Ack table = await client.CreateTableAsync(new Settings { Rounds = 3 });
    /// // OnApplicationPause(true): client.Pause();  OnApplicationPause(false): client.Resume();
    /// // without a SynchronizationContext: call client.DispatchPending() every frame
    /// </code>
    /// </example>
    /// <para>
    /// Single-threaded by design where it must be (WebGL): the client's awaits keep the caller's
    /// SynchronizationContext (no <c>ConfigureAwait(false)</c>: a continuation without one is
    /// queued to the thread pool whenever its task completes on a thread that has one, and a
    /// WebGL build's thread pool never runs), its tasks complete through <see cref="Later"/>, and
    /// it waits only on <see cref="MaratangOptions.Delay"/>.
    /// </para>
    /// </summary>
    public sealed partial class MaratangClient : IDisposable
    {
        private readonly MaratangOptions _options;
        private readonly Dispatcher _dispatcher;
        private HttpClient _http; // made by the first sign-in: WebGL signs in without it
        private readonly object _gate = new object();
        private readonly LocalTable _table = new LocalTable();
        private long _nextRid;

        public MaratangClient(MaratangOptions options)
        {
            _options = options ?? throw new ArgumentNullException(nameof(options));
            _dispatcher = new Dispatcher(options.Post);
            var random = new Random();
            _backoff = new Backoff(options.ReconnectBase, options.ReconnectCap, options.RetryBudget,
                options.Random ?? random.NextDouble);
            _transports = options.Transport ?? (() => new ClientWebSocketTransport());
        }

        public MaratangClient(string server) : this(new MaratangOptions(server))
        {
        }

        /// <summary>The token that opens sockets: set by <see cref="SignInAsync"/>, or by the app
        /// from a previous sign-in (a new sign-in is a new player).</summary>
        public string Token { get; set; }

        /// <summary>The signed-in player, once welcomed (or signed in).</summary>
        public PlayerView Player { get; private set; }

        /// <summary>The server's clock, kept by every pong (the liveness ping's too).</summary>
        public ServerClock Clock { get; } = new ServerClock();

        /// <summary>How long until the server's clock reads <paramref name="serverMs"/>, e.g. a round's deadline.</summary>
        public TimeSpan TimeUntil(long serverMs)
        {
            return Clock.Until(serverMs, NowMs());
        }

        /// <summary>
        /// The table as of <see cref="Seq"/>, or null when the player sits at none. It is the
        /// newest view, which may be ahead of the handlers still waiting to run;
        /// <see cref="StateChanged"/> hands each view over in order.
        /// </summary>
        public TableView State
        {
            get { lock (_gate) return _table.View; }
        }

        /// <summary>The table's session id, or null.</summary>
        public string Session
        {
            get { lock (_gate) return _table.Session; }
        }

        /// <summary>The highest seq applied to <see cref="State"/>.</summary>
        public long Seq
        {
            get { lock (_gate) return _table.Seq; }
        }

        /// <summary>Signs in as a new guest named <paramref name="name"/> and keeps its token.</summary>
        public async Task<Guest> SignInAsync(string name, CancellationToken cancel = default(CancellationToken))
        {
            if (_http == null) _http = new HttpClient();
            Guest guest = await GuestSignIn.SignInAsync(_http, _options.HttpUrl(GuestSignIn.Path), name, cancel);
            Token = guest.Token;
            Player = guest.Player;
            return guest;
        }

        /// <summary>Runs the event handlers waiting in the client's own queue (when it has no
        /// SynchronizationContext to post to); call it from the game loop. Returns how many ran.</summary>
        public int DispatchPending()
        {
            return _dispatcher.Drain();
        }

        /// <summary>Opens a table with this player as host; the ack carries its session and join code.</summary>
        public Task<Ack> CreateTableAsync(Settings settings = null)
        {
            return CommandAsync<Ack>(new SessionCreate { Settings = settings });
        }

        public Task<Ack> JoinAsync(string code)
        {
            return CommandAsync<Ack>(new SessionJoin { Code = code.Trim().ToUpperInvariant() });
        }

        /// <summary>Changes the lobby's settings (host only); null keeps a setting as it is.</summary>
        public Task<Ack> ChangeSettingsAsync(long? rounds = null, long? seconds = null, string lang = null)
        {
            return CommandAsync<Ack>(new SessionSettings { Rounds = rounds, Seconds = seconds, Lang = lang });
        }

        public Task<Ack> StartAsync()
        {
            return CommandAsync<Ack>(new GameStart());
        }

        /// <summary>Submits (or resubmits) this player's bowl for <paramref name="round"/>.</summary>
        public Task<Ack> SubmitBowlAsync(long round, IEnumerable<string> ingredients, long spice)
        {
            var bowl = new Bowl { Ingredients = new List<string>(ingredients), Spice = spice };
            lock (_gate) _table.RememberBowl(round, bowl);
            return CommandAsync<Ack>(new BowlSubmit { Round = round, Ingredients = bowl.Ingredients, Spice = spice });
        }

        public async Task<Ack> LeaveAsync()
        {
            Ack ack = await CommandAsync<Ack>(new SessionLeave());
            lock (_gate)
            {
                _table.Forget();
                EmitState();
            }
            return ack;
        }

        /// <summary>Measures the round trip: the <c>pong</c> echoes the local time it was sent at.</summary>
        public Task<Pong> PingAsync()
        {
            return CommandAsync<Pong>(new Ping { Ts = NowMs() });
        }

        private async Task<T> CommandAsync<T>(Command command) where T : Message
        {
            using (var timeout = new Deadline(_options.Delay, _options.CommandTimeout))
            {
                Link link = await ReadyAsync(timeout.Token, command.T);
                return (T)await SendAsync(link, command, timeout.Token);
            }
        }

        /// <summary>Sends <paramref name="command"/> on <paramref name="link"/> with a fresh rid; its answer.</summary>
        private async Task<Message> SendAsync(Link link, Command command, CancellationToken timeout)
        {
            var answer = new TaskCompletionSource<Message>(); // settled through Later where under the lock
            lock (_gate)
            {
                command.Rid = (++_nextRid).ToString();
                if (link == _link) link.Pending[command.Rid] = answer;
                else answer.TrySetException(new MaratangException(MaratangException.ConnectionLost, "the socket closed", retry: true));
            }
            using (timeout.Register(() => answer.TrySetException(
                       new TimeoutException(command.T + " got no answer in time"))))
            {
                try
                {
                    if (!answer.Task.IsCompleted)
                        await link.Transport.SendAsync(JsonCodec.Encode(command), timeout);
                }
                catch (TransportException e)
                {
                    answer.TrySetException(new MaratangException(MaratangException.ConnectionLost, e.Message, retry: true));
                }
                catch (OperationCanceledException)
                {
                    answer.TrySetException(new TimeoutException(command.T + " could not be sent in time"));
                }
                try
                {
                    return await answer.Task;
                }
                finally
                {
                    lock (_gate) link.Pending.Remove(command.Rid);
                }
            }
        }

        /// <summary>The local clock, in ms since the epoch.</summary>
        internal static double NowMs()
        {
            return (DateTime.UtcNow - new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc)).TotalMilliseconds;
        }
    }
}
