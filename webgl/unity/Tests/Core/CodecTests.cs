using System;
using System.Collections.Generic;
using System.Linq;
using Maratang.Protocol;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace Maratang.Tests
{
    [TestFixture]
    public class CodecTests
    {
        public static IEnumerable<TestCaseData> WireVectors()
        {
            return Vectors.Load("v1.json")
                .Where(v => (string)v["direction"] == "client" || (string)v["direction"] == "server")
                .Select(v => new TestCaseData((string)v["direction"], (string)v["json"], v["value"].ToString(Formatting.None))
                    .SetName("vector " + (string)v["name"]));
        }

        /// <summary>
        /// Each golden frame decodes to its typed message, which encodes back to the same JSON
        /// value. The one difference allowed: a numeric <c>rid</c> comes back as a string, because
        /// the SDK keeps rids as strings (the ones it sends are strings, echoed as strings).
        /// </summary>
        [TestCaseSource("WireVectors")]
        public void AGoldenFrameSurvivesItsTypedMessage(string direction, string json, string value)
        {
            IReadOnlyDictionary<string, Type> types = direction == "client" ? Messages.Client : Messages.Server;
            JObject frame = JsonCodec.Parse(json);
            var message = (Message)frame.ToObject(types[(string)frame["t"]], JsonSerializer.Create(JsonCodec.Settings));

            JToken expected = JToken.Parse(value);
            var rid = expected["rid"] as JValue;
            if (rid != null && rid.Type == JTokenType.Integer) expected["rid"] = rid.ToString(Formatting.None);
            JToken actual = JToken.Parse(JsonCodec.Encode(message));
            Assert.IsTrue(Vectors.SameJson(expected, actual), "expected " + expected.ToString(Formatting.None)
                                                               + "\nbut got  " + actual.ToString(Formatting.None));
        }

        [Test]
        public void ServerFramesDecodeToTheirTypes()
        {
            foreach (JObject vector in Vectors.Load("v1.json").Where(v => (string)v["direction"] == "server"))
            {
                Message message = JsonCodec.DecodeServer((string)vector["json"]);
                Assert.AreEqual(Messages.Server[(string)vector["value"]["t"]], message.GetType(), (string)vector["name"]);
            }
        }

        [Test]
        public void ServerTimesKeepEveryDigit()
        {
            var welcome = (Welcome)JsonCodec.DecodeServer(
                "{\"t\":\"welcome\",\"player\":{\"id\":\"p_a\",\"name\":\"A\"},\"heartbeat_ms\":20000,\"server_time\":1764140000000}");
            Assert.AreEqual(1764140000000L, welcome.ServerTime);

            const string beyond = "9007199254740993"; // 2^53 + 1: a double would make it ...992
            var round = (RoundStarted)JsonCodec.DecodeServer(
                "{\"t\":\"round.started\",\"session\":\"s_a\",\"seq\":7,\"round\":1," +
                "\"customer\":{\"id\":\"c\",\"name\":\"n\",\"story\":\"s\"},\"deadline\":" + beyond + "}");
            Assert.AreEqual(9007199254740993L, round.Deadline);
            StringAssert.Contains("\"deadline\":" + beyond, JsonCodec.Encode(round));
        }

        [Test]
        public void AnUnknownEventStillCarriesItsSeq()
        {
            Message message = JsonCodec.DecodeServer("{\"t\":\"table.renamed\",\"session\":\"s_a\",\"seq\":12,\"name\":\"x\"}");
            var e = (SessionEvent)message;
            Assert.AreEqual("table.renamed", e.T);
            Assert.AreEqual(12L, e.Seq);
        }

        [Test]
        public void AnUnknownReplyIsIgnoredAndAFrameThatIsNoObjectIsRefused()
        {
            Assert.IsNull(JsonCodec.DecodeServer("{\"t\":\"notice\",\"text\":\"hi\"}"));
            Assert.Throws<FormatException>(() => JsonCodec.DecodeServer("[1,2]"));
            Assert.Throws<FormatException>(() => JsonCodec.DecodeServer("{\"seq\":1}"));
        }

        [Test]
        public void CommandsLeaveAbsentFieldsOut()
        {
            string json = JsonCodec.Encode(new SessionSettings { Rid = "4", Lang = "en" });
            Assert.IsTrue(JToken.DeepEquals(JToken.Parse("{\"t\":\"session.settings\",\"rid\":\"4\",\"lang\":\"en\"}"),
                JToken.Parse(json)), json);
        }
    }
}
