using System;
using Maratang.Protocol;
using NUnit.Framework;

namespace Maratang.Tests
{
    [TestFixture]
    public class BackoffTests
    {
        private static Backoff Make(Func<double> random, int budget = 12)
        {
            return new Backoff(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(15), budget, random);
        }

        [Test]
        public void TheCeilingDoublesFromTheBaseUpToTheCap()
        {
            Backoff backoff = Make(() => 0.5);
            double[] ceilings = { 500, 1000, 2000, 4000, 8000, 15000, 15000 };
            for (int attempt = 0; attempt < ceilings.Length; attempt++)
                Assert.AreEqual(ceilings[attempt], backoff.Ceiling(attempt).TotalMilliseconds, "attempt " + attempt);
            Assert.AreEqual(15000, backoff.Ceiling(1000).TotalMilliseconds);
        }

        [Test]
        public void DelaysAreFullJitterBelowTheCeiling()
        {
            double next = 0;
            Backoff backoff = Make(() => next);
            Assert.AreEqual(TimeSpan.Zero, backoff.Next(), "random 0 waits nothing");
            next = 0.999999;
            Assert.AreEqual(999, backoff.Next().TotalMilliseconds, "random just below 1 stays below the ceiling (1000)");
            next = 0.25;
            Assert.AreEqual(500, backoff.Next().TotalMilliseconds, "a quarter of 2000");
        }

        [Test]
        public void TheBudgetRunsOutAndAResetRestoresIt()
        {
            Backoff backoff = Make(() => 0.5, budget: 3);
            for (int i = 0; i < 3; i++) Assert.IsFalse(backoff.Exhausted, "attempt " + i);
            backoff.Next();
            backoff.Next();
            backoff.Next();
            Assert.IsTrue(backoff.Exhausted);
            Assert.Throws<InvalidOperationException>(() => backoff.Next());
            backoff.Reset();
            Assert.AreEqual(0, backoff.Attempt);
            Assert.AreEqual(250, backoff.Next().TotalMilliseconds, "from the base again");
        }
    }

    [TestFixture]
    public class ClosePolicyTests
    {
        [Test]
        public void TerminalClosesStopTheClient()
        {
            Assert.IsFalse(ClosePolicy.ShouldReconnect(CloseCode.Unauthorized, false));
            Assert.IsFalse(ClosePolicy.ShouldReconnect(CloseCode.Abuse, false));
        }

        [Test]
        public void EveryOtherCloseIsRetried()
        {
            int[] retried = { 1000, 1001, 1006, 1009, 1011, 1012, 1013, 4408, 4000 };
            foreach (int code in retried) Assert.IsTrue(ClosePolicy.ShouldReconnect(code, false), "close " + code);
        }

        [Test]
        public void ACloseTheAppAskedForIsNotRetried()
        {
            Assert.IsFalse(ClosePolicy.ShouldReconnect(CloseCode.Normal, true));
            Assert.IsFalse(ClosePolicy.ShouldReconnect(ClosePolicy.Lost, true));
        }

        [Test]
        public void OnlyAnUnknownProtocolVersionStopsHandshakeRetries()
        {
            Assert.IsFalse(ClosePolicy.ShouldRetryHandshake(403));
            Assert.IsTrue(ClosePolicy.ShouldRetryHandshake(429));
            Assert.IsTrue(ClosePolicy.ShouldRetryHandshake(503));
            Assert.IsTrue(ClosePolicy.ShouldRetryHandshake(0), "no HTTP answer at all: the network");
        }
    }
}
