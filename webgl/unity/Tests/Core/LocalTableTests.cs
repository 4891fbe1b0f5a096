using System.Collections.Generic;
using Maratang.Protocol;
using NUnit.Framework;

namespace Maratang.Tests
{
    [TestFixture]
    public class LocalTableTests
    {
        private LocalTable _table;

        [SetUp]
        public void SeatAtATable()
        {
            _table = new LocalTable { Viewer = "p_a" };
            _table.Load(Sync("s_1", 2));
        }

        private static Sync Sync(string session, long seq, string phase = "lobby")
        {
            return new Sync
            {
                Session = session, Seq = seq,
                State = new TableView
                {
                    Code = "K7MPQ2", Phase = phase, Round = 0, Host = "p_a",
                    Settings = new Settings { Rounds = 1, Seconds = 30, Lang = "ko" },
                    Players = new List<SeatView> { new SeatView { Id = "p_a", Name = "A" } },
                },
            };
        }

        private static PlayerJoined Joined(long seq, string id, string session = "s_1")
        {
            return new PlayerJoined { Session = session, Seq = seq, Player = new PlayerView { Id = id, Name = id } };
        }

        [Test]
        public void EventsApplyInSeqOrder()
        {
            Assert.AreEqual(Verdict.Applied, _table.Offer(Joined(3, "p_b")));
            Assert.AreEqual(Verdict.Applied, _table.Offer(Joined(4, "p_c")));
            Assert.AreEqual(4L, _table.Seq);
            Assert.AreEqual(3, _table.View.Players.Count);
        }

        [Test]
        public void AReplayedEventIsDroppedOnce()
        {
            _table.Offer(Joined(3, "p_b"));
            Assert.AreEqual(Verdict.Duplicate, _table.Offer(Joined(3, "p_b")));
            Assert.AreEqual(Verdict.Duplicate, _table.Offer(Joined(2, "p_x")), "at or below the sync's seq");
            Assert.AreEqual(3L, _table.Seq);
            Assert.AreEqual(2, _table.View.Players.Count);
        }

        [Test]
        public void AGapIsReportedAndChangesNothing()
        {
            Assert.AreEqual(Verdict.Gap, _table.Offer(Joined(5, "p_b")));
            Assert.AreEqual(2L, _table.Seq);
            Assert.AreEqual(1, _table.View.Players.Count);
            Assert.AreEqual(new Resume { Session = "s_1", Seq = 2 }.Seq, _table.ResumePoint.Seq, "resume from what was applied");
        }

        [Test]
        public void ASyncReplacesTheViewAndTheSeq()
        {
            _table.Offer(Joined(3, "p_b"));
            _table.Load(Sync("s_1", 40, "picking"));
            Assert.AreEqual(40L, _table.Seq);
            Assert.AreEqual("picking", _table.View.Phase);
            Assert.AreEqual(Verdict.Duplicate, _table.Offer(Joined(40, "p_b")));
            Assert.AreEqual(Verdict.Applied, _table.Offer(Joined(41, "p_b")));
        }

        [Test]
        public void EventsOfAnotherTableAreIgnored()
        {
            Assert.AreEqual(Verdict.Elsewhere, _table.Offer(Joined(3, "p_b", "s_2")));
            _table.Forget();
            Assert.AreEqual(Verdict.Elsewhere, _table.Offer(Joined(3, "p_b")));
            Assert.IsNull(_table.ResumePoint);
        }

        [Test]
        public void AnUnknownEventCountsItsSeq()
        {
            Assert.AreEqual(Verdict.Applied, _table.Offer(new UnknownEvent("table.renamed") { Session = "s_1", Seq = 3 }));
            Assert.AreEqual(3L, _table.Seq);
            Assert.AreEqual(Verdict.Applied, _table.Offer(Joined(4, "p_b")));
        }

        [Test]
        public void TheViewersOwnBowlShowsOnceTheServerConfirmsIt()
        {
            _table.Load(Sync("s_1", 10, "picking"));
            _table.View.Round = 1;
            var bowl = new Bowl { Ingredients = new List<string> { "bok_choy", "enoki", "beef" }, Spice = 2 };
            _table.RememberBowl(1, bowl);
            Assert.IsNull(_table.View.Bowl);
            _table.Offer(new BowlSubmitted { Session = "s_1", Seq = 11, Round = 1, Player = "p_a" });
            Assert.AreSame(bowl, _table.View.Bowl);
            Assert.IsTrue(_table.View.Players[0].Submitted);
        }
    }
}
