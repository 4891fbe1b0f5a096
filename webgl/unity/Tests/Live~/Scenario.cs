using System;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Threading;
using Maratang.Protocol;
using Newtonsoft.Json.Linq;
using static Maratang.Live.Harness;

namespace Maratang.Live
{
    internal static class Scenario
    {
        private static readonly string[][] Bowls =
        {
            new[] { "bok_choy", "enoki", "beef" },
            new[] { "fish_balls", "dumplings", "shrimp", "quail_eggs" },
        };

        private static MaratangOptions Options(Uri server, Uri socket = null)
        {
            return new MaratangOptions(server) { Socket = socket, CommandTimeout = TimeSpan.FromSeconds(10) };
        }

        /// <summary>Two SDK players and the test's Python player play a whole game; each SDK view ends as the server's.</summary>
        public static void FullGame(Uri server, Uri proxy)
        {
            Player host = Player.SignedIn("민지", Options(server));
            Player guest = Player.SignedIn("Alex", Options(server));
            Ack table = host.Client.CreateTableAsync(new Settings { Rounds = 2, Seconds = 60 }).GetAwaiter().GetResult();
            guest.Client.JoinAsync(table.Code).GetAwaiter().GetResult();
            Until(() => Seated(host, 2) && Seated(guest, 2), 10, "both seated", host, guest);
            Checkpoint("table", new { code = table.Code, session = table.Session });
            Until(() => Seated(host, 3) && Seated(guest, 3), 10, "the third player", host, guest);
            host.Client.StartAsync().GetAwaiter().GetResult();
            for (long round = 1; round <= 2; round++)
            {
                Until(() => Picking(host, round) && Picking(guest, round), 15, "round " + round, host, guest);
                TimeSpan left = host.Client.TimeUntil(host.View.Deadline.Value);
                Check(left > TimeSpan.FromSeconds(50) && left <= TimeSpan.FromSeconds(61), "the round's time left on the server's clock: " + left);
                host.Client.SubmitBowlAsync(round, Bowls[0], 2).GetAwaiter().GetResult();
                guest.Client.SubmitBowlAsync(round, Bowls[1], 1).GetAwaiter().GetResult();
            }
            Until(() => Finished(host) && Finished(guest), 30, "game over and the finale told", host, guest);
            Check(host.Gapless() && guest.Gapless(), "every seq applied once, in order");
            Check(host.DeltasAddUp() && guest.DeltasAddUp(), "the deltas add up to every narration's text");
            MatchesFreshSync(host, table.Code);
            MatchesFreshSync(guest, table.Code);
            Say("over", new { host = host.Over.Ranking, guest = guest.Over.Ranking, seq = host.Client.Seq });
        }

        /// <summary>A socket cut mid-narration resumes: nothing lost, nothing repeated.</summary>
        public static void CutMidNarration(Uri server, Uri proxy)
        {
            Player cut = Player.SignedIn("민지", Options(server, proxy));
            Player steady = Player.SignedIn("Alex", Options(server));
            Ack table = cut.Client.CreateTableAsync(new Settings { Rounds = 1, Seconds = 60 }).GetAwaiter().GetResult();
            steady.Client.JoinAsync(table.Code).GetAwaiter().GetResult();
            Until(() => Seated(cut, 2) && Seated(steady, 2), 10, "both seated", cut, steady);
            cut.Client.StartAsync().GetAwaiter().GetResult();
            StringBuilder entrance = null;
            Until(() => cut.Deltas.TryGetValue("r1.entrance", out entrance) && entrance.Length > 0, 10, "the entrance streaming", cut, steady);
            Checkpoint("narrating", new { seq = cut.Client.Seq });
            Until(() => cut.Disconnects.Count == 1, 5, "the cut noticed", cut, steady);
            Check(cut.Disconnects[0].WillReconnect && cut.Disconnects[0].Code == ClosePolicy.Lost, "a lost socket is retried: " + cut.Disconnects[0]);
            long lastBefore = cut.Client.Seq;
            System.Threading.Tasks.Task<Pong> sentWhileCut = cut.Client.PingAsync();
            Checkpoint("cut", new { seq = lastBefore });
            Until(() => cut.Welcomes.Count == 2, 10, "a new socket", cut, steady);
            Check(sentWhileCut.Wait(TimeSpan.FromSeconds(10)), "a command sent while cut went out once reconnected");
            Check(cut.Welcomes[1].Session == table.Session, "the seat was resumed");
            Until(() => cut.Told.ContainsKey("r1.entrance") && steady.Told.ContainsKey("r1.entrance")
                        && cut.Client.Seq == steady.Client.Seq, 15, "the entrance told to both", cut, steady);
            Check(cut.Syncs.Count == 1, "resumed by replay from its seq, not by a new sync");
            Check(cut.Gapless(), "seqs gapless across the cut: " + string.Join(",", cut.Seqs));
            Check(cut.DeltasAddUp(), "the deltas add up to the entrance's text");
            Check(cut.View.Narration.Text == steady.View.Narration.Text, "both tell the same story");
            Say("resumed", new { before = lastBefore, seq = cut.Client.Seq, replayed = cut.Seqs.Count(s => s > lastBefore) });
        }

        /// <summary>A socket that stays open but carries nothing is found by the liveness ping and replaced.</summary>
        public static void Zombie(Uri server, Uri proxy)
        {
            MaratangOptions options = Options(server, proxy);
            options.PingInterval = TimeSpan.FromMilliseconds(300);
            options.PingTimeout = TimeSpan.FromMilliseconds(700);
            Player player = Player.SignedIn("민지", options);
            Ack table = player.Client.CreateTableAsync(new Settings { Rounds = 1 }).GetAwaiter().GetResult();
            Until(() => Seated(player, 1), 10, "seated", player);
            Checkpoint("connected");
            TimeSpan detected = Until(() => player.Disconnects.Count == 1, 5, "the dead socket noticed", player);
            Check(player.Disconnects[0].WillReconnect && player.Disconnects[0].Reason.StartsWith("no pong"),
                "a dead socket is replaced, saying why: " + player.Disconnects[0]);
            Check(detected.TotalMilliseconds < 300 + 700 + 1000, "found within interval + timeout: " + detected);
            Until(() => player.Welcomes.Count == 2, 10, "a new socket", player);
            Check(player.Welcomes[1].Session == table.Session, "the seat was resumed");
            player.Client.PingAsync().GetAwaiter().GetResult();
            Check(player.Client.Clock.RoundTrip.HasValue, "a pong measures the round trip");
            Say("replaced", new { detected_ms = (long)detected.TotalMilliseconds });
        }

        /// <summary>A forged token (4401) and an unknown protocol version (HTTP 403) stop the client, saying why.</summary>
        public static void Terminal(Uri server, Uri proxy)
        {
            MaratangOptions options = Options(server);
            options.ReconnectBase = TimeSpan.FromMilliseconds(20);
            var player = new Player(options);
            Guest guest = player.Client.SignInAsync("민지").GetAwaiter().GetResult();
            char last = guest.Token[guest.Token.Length - 1];
            player.Client.Token = guest.Token.Substring(0, guest.Token.Length - 1) + (last == 'A' ? 'B' : 'A');
            try
            {
                player.Client.ConnectAsync().GetAwaiter().GetResult();
                throw new Exception("check failed: a forged token was welcomed");
            }
            catch (MaratangException refused)
            {
                Check(refused.Code == ErrorCode.Unauthorized, "refused as unauthorized: " + refused.Code);
            }
            Until(() => player.Disconnects.Count == 1, 5, "the stop reported", player);
            Disconnect stop = player.Disconnects[0];
            Check(stop.Code == CloseCode.Unauthorized && !stop.WillReconnect && stop.Error == ErrorCode.Unauthorized, "why: " + stop);
            Holds(() => player.Sockets != 1 || player.Reconnects != 0, 0.5, "no retry after 4401", player);
            Check(Throws<MaratangException>(() => player.Client.PingAsync().GetAwaiter().GetResult()), "commands fail at once");

            var socket = new ClientWebSocketTransport();
            var wsUrl = new Uri(server.ToString().Replace("http", "ws").TrimEnd('/') + "/ws");
            TransportException refusedVersion = null;
            try
            {
                socket.ConnectAsync(wsUrl, "maratang.v2.json", CancellationToken.None).GetAwaiter().GetResult();
            }
            catch (TransportException e)
            {
                refusedVersion = e;
            }
            Check(refusedVersion != null && refusedVersion.Status == ClosePolicy.UnknownVersion,
                "an unknown version is refused with 403: " + refusedVersion);
            Check(!ClosePolicy.ShouldRetryHandshake(refusedVersion.Status), "and not retried");
            Say("stopped", new { code = stop.Code, error = stop.Error, reason = stop.Reason, status = refusedVersion.Status });
        }

        /// <summary>Paused, the client spends no attempt however long the network is gone; resumed, it is back at once.</summary>
        public static void Pause(Uri server, Uri proxy)
        {
            MaratangOptions options = Options(server, proxy);
            options.ReconnectBase = TimeSpan.FromMilliseconds(50);
            options.ReconnectCap = TimeSpan.FromMilliseconds(200);
            options.RetryBudget = 3;
            options.ResumeProbeTimeout = TimeSpan.FromMilliseconds(500);
            Player player = Player.SignedIn("민지", options);
            Ack table = player.Client.CreateTableAsync(new Settings { Rounds = 1 }).GetAwaiter().GetResult();
            Until(() => Seated(player, 1), 10, "seated", player);
            player.Client.Pause();
            Checkpoint("paused");
            Until(() => player.Disconnects.Count == 1, 5, "the cut noticed", player);
            int sockets = player.Sockets;
            Holds(() => player.Sockets != sockets || player.Reconnects != 0, 1.5, "no attempt while paused", player);
            Checkpoint("held", new { sockets, reconnects = player.Reconnects });
            player.Client.Resume();
            TimeSpan back = Until(() => player.Welcomes.Count == 2, 5, "back after resume", player);
            Check(back.TotalMilliseconds < 1000, "reconnected at once: " + back);
            Check(player.Reconnects == 0, "no backoff before the first attempt after resume");
            Check(player.Welcomes[1].Session == table.Session, "the seat was resumed");
            Say("resumed", new { back_ms = (long)back.TotalMilliseconds });

            player.Client.Pause();
            Checkpoint("paused again");
            Stopwatch clock = Stopwatch.StartNew();
            player.Client.Resume();
            Until(() => player.Disconnects.Count == 2, 5, "the socket that died while paused found by the probe", player);
            TimeSpan found = clock.Elapsed;
            Check(found < options.ResumeProbeTimeout + TimeSpan.FromSeconds(4), "found by the probe: " + found);
            Until(() => player.Welcomes.Count == 3, 5, "a new socket", player);
            Check(player.Welcomes[2].Session == table.Session, "the seat was resumed again");
            Say("replaced", new { found_ms = (long)found.TotalMilliseconds });
        }

        /// <summary>The socket alone, against the test's own WebSocket server: fragmented and large
        /// text messages arrive whole, and the peer's close code is reported.</summary>
        public static void Transport(Uri socketUrl, Uri unused)
        {
            var socket = new ClientWebSocketTransport();
            var received = new System.Collections.Concurrent.BlockingCollection<string>();
            var closed = new System.Threading.Tasks.TaskCompletionSource<string>();
            socket.Message += received.Add;
            socket.Closed += (code, reason) => closed.TrySetResult(code + " " + reason);
            socket.ConnectAsync(socketUrl, Wire.JsonSubprotocol, CancellationToken.None).GetAwaiter().GetResult();
            socket.SendAsync("{\"t\":\"ping\",\"ts\":1}", CancellationToken.None).GetAwaiter().GetResult();
            Check(closed.Task.Wait(TimeSpan.FromSeconds(10)), "the server's close reported");
            Say("received", new { messages = received.ToArray(), closed = closed.Task.Result });
        }

        private static bool Seated(Player player, int count)
        {
            return player.View != null && player.View.Players.Count == count;
        }

        private static bool Picking(Player player, long round)
        {
            return player.View != null && player.View.Phase == "picking" && player.View.Round == round;
        }

        private static bool Finished(Player player)
        {
            return player.Over != null && player.Told.ContainsKey("finale");
        }

        /// <summary>A fresh sync (a join of the table the player sits at) equals the view the player kept.</summary>
        private static void MatchesFreshSync(Player player, string code)
        {
            string kept = JsonCodec.Encode(player.View);
            long seq = player.Client.Seq;
            int syncs = player.Syncs.Count;
            player.Client.JoinAsync(code).GetAwaiter().GetResult();
            Until(() => player.Syncs.Count > syncs, 10, "a fresh sync", player);
            Sync fresh = player.Syncs.Last();
            string server = JsonCodec.Encode(fresh.State);
            Check(fresh.Seq == seq, "the sync is as of the kept seq " + seq + ": " + fresh.Seq);
            Check(JToken.DeepEquals(JToken.Parse(kept), JToken.Parse(server)), "kept view\n" + kept + "\nserver's\n" + server);
        }

        private static bool Throws<T>(Action action) where T : Exception
        {
            try
            {
                action();
                return false;
            }
            catch (T)
            {
                return true;
            }
        }
    }
}
