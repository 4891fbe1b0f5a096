using System.Collections.Generic;
using System.Linq;
using Maratang.Protocol;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using NUnit.Framework;

namespace Maratang.Tests
{
    /// <summary>Every vector of <c>protocol/vectors/reducer.json</c>, through the client's own <see cref="LocalTable"/>.</summary>
    [TestFixture]
    public class ReducerTests
    {
        public static IEnumerable<TestCaseData> ReducerVectors()
        {
            return Vectors.Load("reducer.json")
                .Select(v => new TestCaseData(v.ToString(Formatting.None)).SetName("reducer " + (string)v["name"]));
        }

        [TestCaseSource("ReducerVectors")]
        public void EventsAppliedToTheViewGiveTheServersView(string vectorJson)
        {
            JObject vector = JObject.Parse(vectorJson);
            var events = vector["events"].Select(e => (SessionEvent)JsonCodec.DecodeServer(e.ToString(Formatting.None))).ToList();
            var table = new LocalTable { Viewer = (string)vector["viewer"] };
            table.Load(new Sync
            {
                Session = events[0].Session,
                Seq = events[0].Seq - 1,
                State = JsonCodec.ToObject<TableView>(vector["before"]),
            });
            foreach (JProperty bowl in ((JObject)vector["own_bowls"]).Properties())
                table.RememberBowl(long.Parse(bowl.Name), JsonCodec.ToObject<Bowl>(bowl.Value));

            foreach (SessionEvent e in events) Assert.AreEqual(Verdict.Applied, table.Offer(e), e.T + " " + e.Seq);

            JToken expected = Vectors.WithoutNulls(vector["after"]);
            JToken actual = Vectors.WithoutNulls(JToken.Parse(JsonCodec.Encode(table.View)));
            Assert.IsTrue(Vectors.SameJson(expected, actual),
                "expected " + expected.ToString(Formatting.None) + "\nbut got  " + actual.ToString(Formatting.None));
        }

        [Test]
        public void TheViewPassedInIsLeftAsItWas()
        {
            var before = new TableView
            {
                Code = "K7MPQ2", Phase = "lobby", Round = 0, Settings = new Settings { Rounds = 1, Seconds = 30, Lang = "ko" },
                Players = new List<SeatView> { new SeatView { Id = "p_a", Name = "A" } },
            };
            string original = JsonCodec.Encode(before);
            TableView after = TableReducer.Apply(before, new PlayerAway { Session = "s", Seq = 3, Player = "p_a" });
            Assert.IsTrue(after.Players[0].Away);
            Assert.AreEqual(original, JsonCodec.Encode(before));
        }
    }
}
