using System;
using NUnit.Framework;

namespace Maratang.Tests
{
    [TestFixture]
    public class OptionsTests
    {
        [Test]
        public void EndpointsFollowTheServersSchemeAndPath()
        {
            var options = new MaratangOptions("https://maratang.example/play");
            Assert.AreEqual(new Uri("wss://maratang.example/play/ws"), options.SocketUrl());
            Assert.AreEqual(new Uri("https://maratang.example/play/api/auth/guest"), options.HttpUrl("api/auth/guest"));
            Assert.AreEqual(new Uri("ws://127.0.0.1:8000/ws"), new MaratangOptions("http://127.0.0.1:8000/").SocketUrl());
        }

        [Test]
        public void AGivenSocketUrlWins()
        {
            var options = new MaratangOptions("http://127.0.0.1:8000") { Socket = new Uri("ws://127.0.0.1:9000/ws") };
            Assert.AreEqual(new Uri("ws://127.0.0.1:9000/ws"), options.SocketUrl());
        }
    }
}
