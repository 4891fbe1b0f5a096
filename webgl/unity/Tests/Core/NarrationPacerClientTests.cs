using System;
using System.Collections.Concurrent;
using System.Threading;
using Maratang.Protocol;
using NUnit.Framework;

namespace Maratang.Tests
{
    /// <summary>A pacer following a client: the narration events from an in-memory socket, the
    /// pacer's clock moved by the test.</summary>
    [TestFixture]
    public class NarrationPacerClientTests
    {
        private const string Table = "{\"code\":\"K7MPQ2\",\"phase\":\"picking\",\"settings\":{\"rounds\":1,\"seconds\":30,\"lang\":\"ko\"}," +
                                     "\"players\":[],\"round\":1";
        private const string Told = "딸랑, 문이 열리고 손님이 들어옵니다. 오늘은 얼큰한 국물이 당기는 날이에요. ";

        private BlockingCollection<FakeTransport> _sockets;
        private MaratangClient _client;
        private NarrationPacer _pacer;
        private TimeSpan _now;

        [SetUp]
        public void MakeClient()
        {
            _sockets = new BlockingCollection<FakeTransport>();
            var options = new MaratangOptions("http://127.0.0.1:1")
            {
                Transport = () =>
                {
                    var socket = new FakeTransport();
                    _sockets.Add(socket);
                    return socket;
                },
                Random = () => 0,
            };
            _client = new MaratangClient(options) { Token = "token" };
            _now = TimeSpan.Zero;
            _pacer = new NarrationPacer(_client, new NarrationPaceOptions { Clock = () => _now });
        }

        [TearDown]
        public void Close()
        {
            _pacer.Dispose();
            _client.Dispose();
        }

        private FakeTransport NextSocket()
        {
            FakeTransport socket;
            Assert.IsTrue(_sockets.TryTake(out socket, TimeSpan.FromSeconds(5)), "no socket was opened");
            return socket;
        }

        private FakeTransport Connect()
        {
            var connected = _client.ConnectAsync();
            FakeTransport socket = NextSocket();
            socket.Welcome();
            Assert.IsTrue(connected.Wait(TimeSpan.FromSeconds(5)), "never welcomed");
            return socket;
        }

        private static string Sync(long seq, string narration)
        {
            return "{\"t\":\"sync\",\"session\":\"s_1\",\"seq\":" + seq + ",\"state\":" + Table +
                   (narration == null ? "" : ",\"narration\":" + narration) + "}}";
        }

        private static string Delta(long seq, string text)
        {
            return "{\"t\":\"narration.delta\",\"session\":\"s_1\",\"seq\":" + seq + ",\"nid\":\"r1.entrance\",\"text\":\"" + text + "\"}";
        }

        private void Play(double ms)
        {
            _client.DispatchPending();
            TimeSpan until = _now + TimeSpan.FromMilliseconds(ms);
            while (_now < until)
            {
                _now += TimeSpan.FromMilliseconds(16);
                _pacer.Update();
            }
        }

        [Test]
        public void TheClientsNarrationEventsArePacedAndItsEndCompletesIt()
        {
            FakeTransport socket = Connect();
            socket.Receive(Sync(2, null));
            socket.Receive("{\"t\":\"narration.start\",\"session\":\"s_1\",\"seq\":3,\"nid\":\"r1.entrance\",\"kind\":\"entrance\",\"round\":1}");
            socket.Receive(Delta(4, Told));
            Play(500);
            Assert.AreEqual("entrance", _pacer.Kind);
            Assert.That(_pacer.Shown.Length, Is.InRange(14, 16), "30 characters a second");
            StringAssert.StartsWith(_pacer.Shown, Told);
            socket.Receive("{\"t\":\"narration.end\",\"session\":\"s_1\",\"seq\":5,\"nid\":\"r1.entrance\",\"text\":\"" + Told + "\",\"source\":\"llm\"}");
            Play(100);
            Assert.IsFalse(_pacer.Complete, "the end is told at pace too");
            Play(3000);
            Assert.IsTrue(_pacer.Complete);
            Assert.AreEqual(Told, _pacer.Shown);
            Assert.AreEqual("llm", _pacer.Source);
        }

        [Test]
        public void ASyncShowsTheNarrationSoFarAtOnceThenPacesWhatFollows()
        {
            FakeTransport socket = Connect();
            socket.Receive(Sync(4, "{\"nid\":\"r1.entrance\",\"kind\":\"entrance\",\"text\":\"" + Told + "\"}"));
            Play(16);
            Assert.AreEqual(Told, _pacer.Shown);
            socket.Receive(Delta(5, "새 손님이 웃어요."));
            Play(100);
            Assert.That(_pacer.Shown.Length, Is.InRange(Told.Length + 1, Told.Length + 5));
        }

        [Test]
        public void TheTextMissedWhileAwayIsShownAtOnceAfterAResume()
        {
            FakeTransport socket = Connect();
            socket.Receive(Sync(4, "{\"nid\":\"r1.entrance\",\"kind\":\"entrance\",\"text\":\"딸랑, \"}"));
            Play(100);
            socket.Abort();
            FakeTransport again = NextSocket();
            again.Next(MessageType.Hello);
            again.Receive("{\"t\":\"welcome\",\"player\":{\"id\":\"p_a\",\"name\":\"A\"},\"heartbeat_ms\":20000,\"server_time\":1,\"session\":\"s_1\"}");
            again.Receive(Delta(5, "문이 열리고 손님이 들어옵니다. "));
            again.Receive(Delta(6, "오늘은 얼큰한 국물이 당기는 날이에요. "));
            Play(16);
            Assert.AreEqual(Told, _pacer.Shown, "the missed deltas at once");
            _now += TimeSpan.FromSeconds(1);
            again.Receive(Delta(7, "어서 오세요!"));
            Play(100);
            Assert.Less(_pacer.Shown.Length, Told.Length + 6, "live text is paced again");
        }

        [Test]
        public void APacerMadeMidNarrationShowsWhatWasToldAtOnce()
        {
            FakeTransport socket = Connect();
            socket.Receive(Sync(4, "{\"nid\":\"r1.entrance\",\"kind\":\"entrance\",\"text\":\"딸랑, \"}"));
            socket.Receive(Delta(5, "문이 열리고"));
            Assert.IsTrue(SpinWait.SpinUntil(() => _client.Seq == 5, 5000));
            using (var late = new NarrationPacer(_client, new NarrationPaceOptions { Clock = () => _now }))
            {
                Assert.AreEqual("딸랑, 문이 열리고", late.Shown);
                Play(16);
                Assert.AreEqual("딸랑, 문이 열리고", late.Shown, "the handlers still queued bring nothing older");
            }
        }

        [Test]
        public void ADisposedPacerFollowsTheClientNoMore()
        {
            FakeTransport socket = Connect();
            socket.Receive(Sync(4, "{\"nid\":\"r1.entrance\",\"kind\":\"entrance\",\"text\":\"딸랑\"}"));
            Play(16);
            _pacer.Dispose();
            socket.Receive(Delta(5, ", 문이"));
            Play(1000);
            Assert.AreEqual("딸랑", _pacer.Shown);
        }
    }
}
