using System;
using System.Diagnostics;
using System.Threading;
using Newtonsoft.Json.Linq;

namespace Maratang.Live
{
    /// <summary>
    /// How a scenario talks to the test that runs it: one JSON object per stdout line
    /// (<c>{"at": name, ...}</c>), and at a checkpoint it waits for a <c>go</c> line on stdin
    /// while the test acts on the network (cuts or stalls the proxy, seats a player).
    /// </summary>
    internal static class Harness
    {
        public static void Say(string at, object data = null)
        {
            JObject line = data == null ? new JObject() : JObject.FromObject(data);
            line.AddFirst(new JProperty("at", at));
            Console.Out.WriteLine(JsonCodec.Encode(line));
            Console.Out.Flush();
        }

        /// <summary>Says <paramref name="at"/> and waits until the test answers <c>go</c>.</summary>
        public static void Checkpoint(string at, object data = null)
        {
            Say(at, data);
            string answer = Console.In.ReadLine();
            if (answer != "go") throw new InvalidOperationException("the test answered " + (answer ?? "nothing") + " at " + at);
        }

        /// <summary>Runs the players' event handlers until <paramref name="condition"/> holds, or fails after <paramref name="seconds"/>.</summary>
        public static TimeSpan Until(Func<bool> condition, double seconds, string what, params Player[] players)
        {
            Stopwatch clock = Stopwatch.StartNew();
            while (true)
            {
                foreach (Player player in players) player.Client.DispatchPending();
                if (condition()) return clock.Elapsed;
                if (clock.Elapsed.TotalSeconds > seconds) throw new TimeoutException("waited " + seconds + " s for " + what);
                Thread.Sleep(5); // polling the condition, bounded by the deadline
            }
        }

        /// <summary>Runs the players' handlers for <paramref name="seconds"/>, failing as soon as <paramref name="broken"/> holds.</summary>
        public static void Holds(Func<bool> broken, double seconds, string what, params Player[] players)
        {
            Stopwatch clock = Stopwatch.StartNew();
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                foreach (Player player in players) player.Client.DispatchPending();
                Check(!broken(), what);
                Thread.Sleep(5);
            }
        }

        public static void Check(bool holds, string what)
        {
            if (!holds) throw new Exception("check failed: " + what);
        }
    }
}
