using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Maratang.Protocol;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace Maratang.Tests
{
    /// <summary>The client's own logic against an in-memory socket; its network behaviour is tested against a real server.</summary>
    [TestFixture]
    public class ClientTests
    {
        private BlockingCollection<FakeTransport> _sockets;
        private MaratangOptions _options;
        private MaratangClient _client;

        [SetUp]
        public void MakeClient()
        {
            _sockets = new BlockingCollection<FakeTransport>();
            _options = new MaratangOptions("http://127.0.0.1:1")
            {
                Transport = () =>
                {
                    var socket = new FakeTransport();
                    _sockets.Add(socket);
                    return socket;
                },
                CommandTimeout = TimeSpan.FromMilliseconds(300),
                Random = () => 0,
            };
            _client = new MaratangClient(_options) { Token = "token" };
        }

        [TearDown]
        public void Close()
        {
            _client.Dispose();
        }

        private FakeTransport NextSocket()
        {
            FakeTransport socket;
            Assert.IsTrue(_sockets.TryTake(out socket, TimeSpan.FromSeconds(5)), "no socket was opened");
            return socket;
        }

        private FakeTransport Connect(MaratangClient client = null)
        {
            Task connected = (client ?? _client).ConnectAsync();
            FakeTransport socket = NextSocket();
            socket.Welcome();
            Assert.IsTrue(connected.Wait(TimeSpan.FromSeconds(5)), "never welcomed");
            return socket;
        }

        [Test]
        public async Task ARefusedCommandThrowsTheServersError()
        {
            FakeTransport socket = Connect();
            Task<Ack> submit = _client.SubmitBowlAsync(1, new[] { "bok_choy", "enoki", "beef" }, 9);
            JObject sent = socket.Next(MessageType.BowlSubmit);
            socket.Receive("{\"t\":\"error\",\"code\":\"invalid\",\"message\":\"spice: must be between 0 and 4\",\"retry\":false,\"rid\":\""
                           + (string)sent["rid"] + "\",\"field\":\"spice\"}");
            try
            {
                await submit;
                Assert.Fail("an invalid bowl was accepted");
            }
            catch (MaratangException refused)
            {
                Assert.AreEqual(ErrorCode.Invalid, refused.Code);
                Assert.AreEqual("spice", refused.Field);
                Assert.IsFalse(refused.Retry);
            }
        }

        [Test]
        public void AnAckResolvesItsCommandByRid()
        {
            FakeTransport socket = Connect();
            Task<Ack> create = _client.CreateTableAsync(new Settings { Rounds = 2 });
            JObject sent = socket.Next(MessageType.SessionCreate);
            Assert.AreEqual(2L, (long)sent["settings"]["rounds"]);
            socket.Receive("{\"t\":\"ack\",\"rid\":\"" + (string)sent["rid"] + "\",\"session\":\"s_1\",\"code\":\"K7MPQ2\"}");
            Assert.AreEqual("K7MPQ2", create.GetAwaiter().GetResult().Code);
        }

        [Test]
        public void ACommandWithoutAnswerTimesOut()
        {
            Connect();
            Assert.Throws<TimeoutException>(() => _client.StartAsync().GetAwaiter().GetResult());
        }

        [Test]
        public void ACommandWhoseSocketIsLostFailsAtOnce()
        {
            FakeTransport socket = Connect();
            Task<Ack> start = _client.StartAsync();
            socket.Next(MessageType.GameStart);
            socket.Abort();
            var lost = Assert.Throws<MaratangException>(() => start.GetAwaiter().GetResult());
            Assert.AreEqual(MaratangException.ConnectionLost, lost.Code);
        }

        [Test]
        public void HandlersRunOnlyWhenTheGameDrainsTheQueue()
        {
            var seen = new List<string>();
            _client.Connected += () => seen.Add("connected");
            _client.PlayerJoined += e => seen.Add("joined " + e.Player.Id);
            FakeTransport socket = Connect();
            socket.Receive("{\"t\":\"sync\",\"session\":\"s_1\",\"seq\":2,\"state\":{\"code\":\"K7MPQ2\",\"phase\":\"lobby\"," +
                           "\"settings\":{\"rounds\":1,\"seconds\":30,\"lang\":\"ko\"},\"players\":[],\"round\":0}}");
            socket.Receive("{\"t\":\"player.joined\",\"session\":\"s_1\",\"seq\":3,\"player\":{\"id\":\"p_b\",\"name\":\"B\"}}");
            Assert.AreEqual(0, seen.Count, "nothing runs on the socket's thread");
            Assert.IsTrue(_client.DispatchPending() > 0);
            CollectionAssert.AreEqual(new[] { "connected", "joined p_b" }, seen);
            Assert.AreEqual(3L, _client.Seq);
        }

        [Test]
        public void HandlersGoToTheSynchronizationContextTheClientWasMadeOn()
        {
            var context = new QueueContext();
            SynchronizationContext previous = SynchronizationContext.Current;
            SynchronizationContext.SetSynchronizationContext(context);
            MaratangClient client;
            try
            {
                client = new MaratangClient(_options) { Token = "token" };
            }
            finally
            {
                SynchronizationContext.SetSynchronizationContext(previous);
            }
            using (client)
            {
                bool connected = false;
                client.Connected += () => connected = true;
                Connect(client);
                Assert.AreEqual(0, client.DispatchPending(), "nothing waits in the client's own queue");
                Assert.IsFalse(connected);
                context.Run();
                Assert.IsTrue(connected);
            }
        }

        private sealed class QueueContext : SynchronizationContext
        {
            private readonly ConcurrentQueue<Action> _posted = new ConcurrentQueue<Action>();

            public override void Post(SendOrPostCallback callback, object state)
            {
                _posted.Enqueue(() => callback(state));
            }

            public void Run()
            {
                Action next;
                while (_posted.TryDequeue(out next)) next();
            }
        }

        [Test]
        public void ATerminalCloseStopsRetryingAndSaysWhy()
        {
            Task connected = _client.ConnectAsync();
            FakeTransport socket = NextSocket();
            socket.Next(MessageType.Hello);
            socket.Receive("{\"t\":\"error\",\"code\":\"unauthorized\",\"message\":\"token: forged\",\"retry\":false}");
            socket.Close(CloseCode.Unauthorized, "unauthorized");
            var refused = Assert.Throws<MaratangException>(() => connected.GetAwaiter().GetResult());
            Assert.AreEqual(ErrorCode.Unauthorized, refused.Code);
            var endings = new List<Disconnect>();
            _client.Disconnected += endings.Add;
            _client.DispatchPending();
            Assert.AreEqual(1, endings.Count);
            Assert.AreEqual(4401, endings[0].Code);
            Assert.IsFalse(endings[0].WillReconnect);
            Assert.AreEqual(0, _sockets.Count, "no second socket");
        }

        [Test]
        public void ATransportThatCannotBeMadeStopsTheClientSayingWhy()
        {
            _options.Transport = () => { throw new PlatformNotSupportedException("no sockets here"); };
            var client = new MaratangClient(_options) { Token = "token" };
            using (client)
            {
                var failed = Assert.Throws<MaratangException>(() => client.ConnectAsync().GetAwaiter().GetResult());
                Assert.AreEqual(MaratangException.Offline, failed.Code);
                StringAssert.Contains("no sockets here", failed.Message);
            }
        }

        [Test]
        public void AfterAByeTheNextAttemptWaitsAtLeastItsRetryMs()
        {
            var delays = new BlockingCollection<TimeSpan>();
            _client.Reconnecting += (attempt, delay) => delays.Add(delay);
            FakeTransport socket = Connect();
            socket.Receive("{\"t\":\"bye\",\"reason\":\"shutdown\",\"retry_ms\":1000}");
            socket.Close(CloseCode.ServiceRestart, "restart");
            TimeSpan waited;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (!delays.TryTake(out waited, 10))
            {
                _client.DispatchPending();
                Assert.Less(clock.ElapsedMilliseconds, 5000, "no reconnect was announced");
            }
            Assert.AreEqual(TimeSpan.FromSeconds(1), waited, "the jitter drew 0; the bye asks for 1000 ms");
        }

        [Test]
        public void AGapInSeqReplacesTheSocketAndResumes()
        {
            FakeTransport socket = Connect();
            socket.Receive("{\"t\":\"sync\",\"session\":\"s_1\",\"seq\":2,\"state\":{\"code\":\"K7MPQ2\",\"phase\":\"lobby\"," +
                           "\"settings\":{\"rounds\":1,\"seconds\":30,\"lang\":\"ko\"},\"players\":[],\"round\":0}}");
            socket.Receive("{\"t\":\"player.joined\",\"session\":\"s_1\",\"seq\":4,\"player\":{\"id\":\"p_b\",\"name\":\"B\"}}");
            var endings = new List<Disconnect>();
            _client.Disconnected += endings.Add;
            JObject hello = NextSocket().Next(MessageType.Hello);
            _client.DispatchPending();
            StringAssert.Contains("seq 4 came after 2", endings[0].Reason);
            Assert.AreEqual("s_1", (string)hello["resume"]["session"]);
            Assert.AreEqual(2L, (long)hello["resume"]["seq"]);
        }
    }
}
