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

        /// <summary>Told of every call the client makes (its name), as it is made.</summary>
        public Action<string> Called = what => { };

        /// <summary>The handshake never completes (until the client cancels it).</summary>
        public bool Hangs;

        /// <summary>A close handshake gets no answer: only <see cref="Abort"/> ends the socket.</summary>
        public bool Unanswered;

        public bool KeepsAlive => false;

        public Task ConnectAsync(Uri url, string subprotocol, CancellationToken cancel)
        {
            Called("connect");
            if (!Hangs) return Task.FromResult(true);
            var opened = new TaskCompletionSource<bool>();
            cancel.Register(() => opened.TrySetCanceled());
            return opened.Task;
        }

        public Task SendAsync(string text, CancellationToken cancel)
        {
            Called("send");
            Sent.Add(JsonCodec.Parse(text));
            return Task.FromResult(true);
        }

        /// <summary>The next frame of type <paramref name="t"/> the client has sent so far, or
        /// null (others before it are skipped); it does not wait.</summary>
        public JObject Poll(string t)
        {
            JObject frame;
            while (Sent.TryTake(out frame))
                if ((string)frame["t"] == t) return frame;
            return null;
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
            Called("close");
            if (!Unanswered) Closed?.Invoke(code, reason);
        }

        public void Abort()
        {
            Called("abort");
            Closed?.Invoke(1006, "aborted");
        }

        public void Dispose()
        {
            Called("dispose");
        }
    }
}
