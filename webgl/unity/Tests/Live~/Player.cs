using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using Maratang.Protocol;

namespace Maratang.Live
{
    /// <summary>An SDK client and everything its events told, as game code would see it (handlers run on the main thread).</summary>
    internal sealed class Player
    {
        public readonly MaratangClient Client;
        public readonly List<long> Seqs = new List<long>();
        public readonly Dictionary<string, StringBuilder> Deltas = new Dictionary<string, StringBuilder>();
        public readonly Dictionary<string, string> Told = new Dictionary<string, string>();
        public readonly List<Welcome> Welcomes = new List<Welcome>();
        public readonly List<Disconnect> Disconnects = new List<Disconnect>();
        public readonly List<Sync> Syncs = new List<Sync>();
        public int Reconnects;
        public GameOver Over;
        private int _sockets;

        public Player(MaratangOptions options)
        {
            TransportFactory make = options.Transport ?? (() => new ClientWebSocketTransport());
            options.Transport = () =>
            {
                Interlocked.Increment(ref _sockets);
                return make();
            };
            Client = new MaratangClient(options);
            Client.Welcomed += Welcomes.Add;
            Client.Disconnected += Disconnects.Add;
            Client.Reconnecting += (attempt, delay) => Reconnects++;
            Client.Synced += Syncs.Add;
            Client.EventApplied += e => Seqs.Add(e.Seq);
            Client.GameOver += e => Over = e;
            Client.NarrationStarted += e => Deltas[e.Nid] = new StringBuilder();
            Client.NarrationDelta += (nid, delta, soFar) =>
            {
                if (!Deltas.ContainsKey(nid)) Deltas[nid] = new StringBuilder(soFar.Substring(0, soFar.Length - delta.Length));
                Deltas[nid].Append(delta);
                Harness.Check(Deltas[nid].ToString() == soFar, "the text so far of " + nid + " is the deltas added up");
            };
            Client.NarrationEnded += (nid, text, source) => Told[nid] = text;
        }

        /// <summary>Sockets opened so far (connection attempts).</summary>
        public int Sockets => Volatile.Read(ref _sockets);

        public TableView View => Client.State;

        public static Player SignedIn(string name, MaratangOptions options)
        {
            var player = new Player(options);
            player.Client.SignInAsync(name).GetAwaiter().GetResult();
            player.Client.ConnectAsync().GetAwaiter().GetResult();
            return player;
        }

        /// <summary>Every applied seq follows the one before it: nothing lost, nothing applied twice.</summary>
        public bool Gapless()
        {
            return Seqs.Zip(Seqs.Skip(1), (a, b) => b == a + 1).All(next => next);
        }

        /// <summary>Each narration that ended was told in deltas that add up to its full text.</summary>
        public bool DeltasAddUp()
        {
            return Told.All(told => Deltas.ContainsKey(told.Key) && Deltas[told.Key].ToString() == told.Value);
        }
    }
}
