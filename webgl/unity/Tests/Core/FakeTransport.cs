using System;
using System.Collections.Concurrent;
using System.Threading;
using System.Threading.Tasks;
using Maratang.Protocol;
using Newtonsoft.Json.Linq;

namespace Maratang.Tests
{
    /// <summary>An in-memory socket for tests of the client's own logic: the test plays the server.</summary>
    internal sealed class FakeTransport : ITransport
    {
        public readonly BlockingCollection<JObject> Sent = new BlockingCollection<JObject>();

        public event Action<string> Message;
        public event Action<int, string> Closed;

        public bool KeepsAlive => false;

        public Task ConnectAsync(Uri url, string subprotocol, CancellationToken cancel)
        {
            return Task.FromResult(true);
        }

        public Task SendAsync(string text, CancellationToken cancel)
        {
            Sent.Add(JsonCodec.Parse(text));
            return Task.FromResult(true);
        }

        /// <summary>The next frame the client sent, of type <paramref name="t"/> (others are skipped).</summary>
        public JObject Next(string t)
        {
            JObject frame;
            do
            {
                if (!Sent.TryTake(out frame, TimeSpan.FromSeconds(5))) throw new TimeoutException("the client sent no " + t);
            } while ((string)frame["t"] != t);
            return frame;
        }

        public void Receive(string json)
        {
            Message?.Invoke(json);
        }

        /// <summary>Answers the hello with a welcome.</summary>
        public void Welcome(string player = "p_a")
        {
            Next(MessageType.Hello);
            Receive("{\"t\":\"welcome\",\"player\":{\"id\":\"" + player + "\",\"name\":\"A\"},\"heartbeat_ms\":20000,\"server_time\":1}");
        }

        public void StartLiveness(int intervalMs, int timeoutMs)
        {
        }

        public void Close(int code, string reason)
        {
            Closed?.Invoke(code, reason);
        }

        public void Abort()
        {
            Closed?.Invoke(1006, "aborted");
        }

        public void Dispose()
        {
        }
    }
}
