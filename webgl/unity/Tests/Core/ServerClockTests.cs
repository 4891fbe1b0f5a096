using System;
using NUnit.Framework;

namespace Maratang.Tests
{
    [TestFixture]
    public class ServerClockTests
    {
        [Test]
        public void WithoutAnyAnswerItIsTheLocalClock()
        {
            var clock = new ServerClock();
            Assert.AreEqual(1764140000000L, clock.NowMs(1764140000000));
            Assert.IsNull(clock.RoundTrip);
        }

        [Test]
        public void AWelcomeGivesAFirstGuess()
        {
            var clock = new ServerClock();
            clock.Welcomed(1000, 400);
            Assert.AreEqual(1100L, clock.NowMs(500));
        }

        [Test]
        public void APongSetsTheOffsetFromTheMiddleOfItsRoundTrip()
        {
            var clock = new ServerClock();
            clock.Welcomed(1000, 400);
            clock.Ponged(sentMs: 1000, serverTimeMs: 5060, localNowMs: 1100);
            Assert.AreEqual(TimeSpan.FromMilliseconds(100), clock.RoundTrip);
            Assert.AreEqual(6010L, clock.NowMs(2000), "offset 5060 - (1000 + 50)");
            clock.Welcomed(0, 2000);
            Assert.AreEqual(6010L, clock.NowMs(2000), "a welcome's guess does not replace a measurement");
        }

        [Test]
        public void TheShortestRoundTripWins()
        {
            var clock = new ServerClock();
            clock.Ponged(1000, 5060, 1100);
            clock.Ponged(3000, 9999, 3400); // slower: less certain, ignored
            Assert.AreEqual(6010L, clock.NowMs(2000));
            clock.Ponged(4000, 8020, 4020); // faster: offset 8020 - 4010 = 4010, kept
            Assert.AreEqual(TimeSpan.FromMilliseconds(20), clock.RoundTrip);
            Assert.AreEqual(TimeSpan.FromMilliseconds(990), clock.Until(7000, 2000));
        }
    }
}
