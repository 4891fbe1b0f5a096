using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Maratang.Protocol;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace Maratang.Tests
{
    /// <summary>
    /// The client as a WebGL build runs it: on one thread with a SynchronizationContext, every
    /// continuation run there, every wait on the client's <see cref="Delay"/> (here virtual
    /// time the test moves). A wait on .NET's timers or a hop to the thread pool, which never
    /// run in a WebGL build, makes these tests fail within seconds.
    /// </summary>
    [TestFixture]
    public class SingleThreadTests
    {
        private const string WelcomeFrame =
            "{\"t\":\"welcome\",\"player\":{\"id\":\"p_a\",\"name\":\"A\"},\"heartbeat_ms\":20000,\"server_time\":1}";

        private static readonly TimeSpan Millisecond = TimeSpan.FromMilliseconds(1);

        private OneThread _thread;
        private VirtualTimers _timers;
        private List<FakeTransport> _sockets;
        private MaratangOptions _options;
        private MaratangClient _client;
        private bool _hang;

        [SetUp]
        public void MakeOptions()
        {
            _thread = new OneThread();
            _timers = new VirtualTimers { Asked = span => _thread.Check("a wait of " + span) };
            _sockets = new List<FakeTransport>();
            _hang = false;
            _options = new MaratangOptions("http://127.0.0.1:1")
            {
                Transport = () =>
                {
                    _thread.Check("making a transport");
                    var socket = new FakeTransport { Called = what => _thread.Check("the transport's " + what), Hangs = _hang };
                    _sockets.Add(socket);
                    return socket;
                },
                Delay = _timers.Delay,
                // far beyond the tests' real time: only the virtual clock can reach them
                CommandTimeout = TimeSpan.FromHours(1),
                ConnectTimeout = TimeSpan.FromHours(2),
                ReconnectBase = TimeSpan.FromHours(3),
                ReconnectCap = TimeSpan.FromHours(3),
                PingInterval = TimeSpan.FromHours(10),
                PingTimeout = TimeSpan.FromHours(4),
                ResumeProbeTimeout = TimeSpan.FromHours(5),
                Random = () => 0.5,
            };
        }

        [TearDown]
        public void Close()
        {
            _client?.Dispose();
            _client = null;
            _thread.Dispose();
        }

        /// <summary>The client, made on the test's thread (so its handlers are posted there).</summary>
        private MaratangClient Client
        {
            get
            {
                Assert.AreSame(_thread, System.Threading.SynchronizationContext.Current, "the test runs on its context");
                return _client ?? (_client = new MaratangClient(_options) { Token = "token" });
            }
        }

        private FakeTransport Opened(int count)
        {
            _thread.RunUntil(() => _sockets.Count >= count, "socket " + count + " opening");
            return _sockets[count - 1];
        }

        private JObject Sent(FakeTransport socket, string t)
        {
            JObject frame = null;
            _thread.RunUntil(() => (frame = socket.Poll(t)) != null, "a " + t + " frame");
            return frame;
        }

        private FakeTransport Connected()
        {
            Task connected = Client.ConnectAsync();
            FakeTransport socket = Opened(_sockets.Count + 1);
            Sent(socket, MessageType.Hello);
            socket.Receive(WelcomeFrame);
            _thread.RunUntil(() => connected.IsCompleted, "the welcome");
            Assert.AreEqual(TaskStatus.RanToCompletion, connected.Status, "connected");
            return socket;
        }

        /// <summary>Moves the clock to just before <paramref name="span"/> from now and checks
        /// that nothing was waiting for it; the caller then moves it the last millisecond.</summary>
        private void AdvanceAllBut(TimeSpan span, Func<bool> early, string what)
        {
            _timers.Advance(span - Millisecond);
            _thread.RunIdle();
            Assert.IsFalse(early(), what + " came before its time");
        }

        private void AssertEverythingRanOnTheOneThread()
        {
            CollectionAssert.IsEmpty(_thread.Strays, "the client left the game's thread");
        }

        /// <param name="ownQueue">Handlers wait in a queue the game drains each frame, as
        /// MaratangBehaviour's Update does, rather than on the context.</param>
        [TestCase(false)]
        [TestCase(true)]
        public void OnOneThreadTheClientIsWelcomedAppliesEventsAndAnswersCommands(bool ownQueue)
        {
            var handlers = new Queue<Action>();
            if (ownQueue) _options.Post = handlers.Enqueue;
            Func<bool> update = () =>
            {
                while (handlers.Count > 0) handlers.Dequeue()();
                return true;
            };
            var seen = new List<string>();
            Client.Connected += () =>
            {
                _thread.Check("the Connected handler");
                seen.Add("connected");
            };
            Client.PlayerJoined += e =>
            {
                _thread.Check("the PlayerJoined handler");
                seen.Add("joined " + e.Player.Id);
            };
            Ack created = null;
            Func<Task> game = async () =>
            {
                await Client.ConnectAsync();
                _thread.Check("the game after ConnectAsync");
                created = await Client.CreateTableAsync(new Settings { Rounds = 2 });
                _thread.Check("the game after a command");
            };
            Task played = game();

            FakeTransport socket = Opened(1);
            Sent(socket, MessageType.Hello);
            socket.Receive(WelcomeFrame);
            JObject create = Sent(socket, MessageType.SessionCreate);
            socket.Receive("{\"t\":\"ack\",\"rid\":\"" + (string)create["rid"] + "\",\"session\":\"s_1\",\"code\":\"K7MPQ2\"}");
            socket.Receive("{\"t\":\"sync\",\"session\":\"s_1\",\"seq\":2,\"state\":{\"code\":\"K7MPQ2\",\"phase\":\"lobby\"," +
                           "\"settings\":{\"rounds\":2,\"seconds\":30,\"lang\":\"ko\"},\"players\":[],\"round\":0}}");
            socket.Receive("{\"t\":\"player.joined\",\"session\":\"s_1\",\"seq\":3,\"player\":{\"id\":\"p_b\",\"name\":\"B\"}}");
            _thread.RunUntil(() => update() && played.IsCompleted && seen.Count == 2, "the game's flow and its handlers");

            Assert.AreEqual(TaskStatus.RanToCompletion, played.Status, "the game's flow");
            Assert.AreEqual("K7MPQ2", created.Code);
            CollectionAssert.AreEqual(new[] { "connected", "joined p_b" }, seen);
            Assert.AreEqual(3L, Client.Seq);
            Assert.AreEqual("K7MPQ2", Client.State.Code);
            AssertEverythingRanOnTheOneThread();
        }

        [Test]
        public void TheReconnectWaitsOutItsBackoffOnTheClientsTimers()
        {
            var announced = new List<TimeSpan>();
            Client.Reconnecting += (attempt, delay) => announced.Add(delay);
            Connected().Abort();
            _thread.RunUntil(() => announced.Count == 1, "the reconnect's announcement");
            TimeSpan backoff = TimeSpan.FromHours(1.5); // the jitter drew 0.5 of ReconnectBase
            Assert.AreEqual(backoff, announced[0]);
            CollectionAssert.Contains(_timers.Pending, backoff);

            AdvanceAllBut(backoff, () => _sockets.Count > 1, "the next socket");
            _timers.Advance(Millisecond);
            Opened(2);
            AssertEverythingRanOnTheOneThread();
        }

        [Test]
        public void APauseDuringTheBackoffStopsItsTimerAndAResumeReconnectsAtOnce()
        {
            var announced = new List<TimeSpan>();
            Client.Reconnecting += (attempt, delay) => announced.Add(delay);
            Connected().Abort();
            _thread.RunUntil(() => announced.Count == 1, "the reconnect's announcement");
            Client.Pause();
            _thread.RunUntil(() => _timers.Pending.Count == 0, "stopping the backoff's timer");
            Assert.AreEqual(1, _sockets.Count, "no attempt while paused");
            Client.Resume();
            Opened(2);
            AssertEverythingRanOnTheOneThread();
        }

        [Test]
        public void AByesRetryMsHoldsTheNextAttemptBackOnTheClientsTimers()
        {
            _options.Random = () => 0;
            FakeTransport socket = Connected();
            socket.Receive("{\"t\":\"bye\",\"reason\":\"shutdown\",\"retry_ms\":7200000}");
            socket.Close(CloseCode.ServiceRestart, "restart");
            _thread.RunUntil(() => _timers.Pending.Contains(TimeSpan.FromHours(2)), "the bye's wait");

            AdvanceAllBut(TimeSpan.FromHours(2), () => _sockets.Count > 1, "the next socket");
            _timers.Advance(Millisecond);
            Opened(2);
            AssertEverythingRanOnTheOneThread();
        }

        [Test]
        public void ACommandTimesOutOnTheClientsTimers()
        {
            FakeTransport socket = Connected();
            Task<Ack> start = Client.StartAsync();
            Sent(socket, MessageType.GameStart);

            AdvanceAllBut(_options.CommandTimeout, () => start.IsCompleted, "the command's timeout");
            _timers.Advance(Millisecond);
            _thread.RunUntil(() => start.IsCompleted, "the command's timeout");
            Assert.IsInstanceOf<TimeoutException>(start.Exception.InnerException);
            AssertEverythingRanOnTheOneThread();
        }

        [Test]
        public void AHandshakeThatHangsIsGivenUpOnTheClientsTimers()
        {
            _hang = true;
            var announced = new List<TimeSpan>();
            Client.Reconnecting += (attempt, delay) => announced.Add(delay);
            Client.ConnectAsync();
            Opened(1);

            AdvanceAllBut(_options.ConnectTimeout, () => announced.Count > 0, "giving up on the handshake");
            _timers.Advance(Millisecond);
            _thread.RunUntil(() => announced.Count == 1, "giving up on the handshake");
            AssertEverythingRanOnTheOneThread();
        }

        [Test]
        public void AWelcomeThatNeverComesEndsTheAttemptOnTheClientsTimers()
        {
            var announced = new List<TimeSpan>();
            Client.Reconnecting += (attempt, delay) => announced.Add(delay);
            Client.ConnectAsync();
            FakeTransport socket = Opened(1);
            Sent(socket, MessageType.Hello);

            AdvanceAllBut(_options.ConnectTimeout, () => announced.Count > 0, "giving up on the welcome");
            _timers.Advance(Millisecond);
            _thread.RunUntil(() => announced.Count == 1, "giving up on the welcome");
            AssertEverythingRanOnTheOneThread();
        }

        [Test]
        public void AWelcomeWhoseHandlingWaitsForTheGameThreadOutlivesTheConnectTimeout()
        {
            // a hidden tab: the welcome came, the game's thread has not run since, the timer fires
            Task connected = Client.ConnectAsync();
            FakeTransport socket = Opened(1);
            var calls = new List<string>();
            socket.Called += calls.Add;
            Sent(socket, MessageType.Hello);
            socket.Receive(WelcomeFrame);
            _timers.Advance(_options.ConnectTimeout);
            _thread.RunUntil(() => connected.IsCompleted, "the welcome");
            CollectionAssert.DoesNotContain(calls, "abort");
            Assert.IsTrue(Client.IsConnected);
            AssertEverythingRanOnTheOneThread();
        }

        [Test]
        public void ADisconnectWhoseCloseGoesUnansweredAbortsOnTheClientsTimers()
        {
            FakeTransport socket = Connected();
            var calls = new List<string>();
            socket.Called += calls.Add;
            socket.Unanswered = true;
            Task disconnected = Client.DisconnectAsync();
            _thread.RunIdle();
            CollectionAssert.AreEqual(new[] { "close" }, calls);

            AdvanceAllBut(_options.ConnectTimeout, () => disconnected.IsCompleted, "the abort");
            _timers.Advance(Millisecond);
            _thread.RunUntil(() => disconnected.IsCompleted, "the abort");
            CollectionAssert.Contains(calls, "abort");
            AssertEverythingRanOnTheOneThread();
        }

        [Test]
        public void TheLivenessPingReplacesASocketThatStoppedAnsweringOnTheClientsTimers()
        {
            var endings = new List<Disconnect>();
            Client.Disconnected += endings.Add;
            FakeTransport socket = Connected();
            _timers.Advance(_options.PingInterval.Value);
            Sent(socket, MessageType.Ping);

            AdvanceAllBut(_options.PingTimeout.Value, () => endings.Count > 0, "the liveness timeout");
            _timers.Advance(Millisecond);
            _thread.RunUntil(() => endings.Count == 1, "the liveness timeout");
            StringAssert.Contains("no pong within 14400000 ms", endings[0].Reason);
            Assert.IsTrue(endings[0].WillReconnect);
            AssertEverythingRanOnTheOneThread();
        }

        [Test]
        public void TheProbeOnResumeReplacesASocketThatDiedWhilePausedOnTheClientsTimers()
        {
            FakeTransport socket = Connected();
            Client.Pause();
            Client.Resume();
            Sent(socket, MessageType.Ping);

            AdvanceAllBut(_options.ResumeProbeTimeout, () => _sockets.Count > 1, "the replacement");
            _timers.Advance(Millisecond);
            Opened(2); // at once: a resume spends no backoff
            AssertEverythingRanOnTheOneThread();
        }
    }
}
