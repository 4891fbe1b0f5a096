using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Maratang.Protocol;

namespace Maratang
{
    /// <summary>How one socket ended.</summary>
    public sealed class Disconnect
    {
        /// <summary>The close code (1006: lost without a close frame), or 0 for a refused handshake.</summary>
        public int Code { get; }

        /// <summary>The HTTP status of a refused handshake (403: unknown protocol version), or 0.</summary>
        public int HttpStatus { get; }

        /// <summary>The <c>error</c> code the server sent just before closing (e.g. <c>unauthorized</c>), or null.</summary>
        public string Error { get; }

        /// <summary>Why, in words for logs.</summary>
        public string Reason { get; }

        /// <summary>Whether the client goes on to reconnect by itself.</summary>
        public bool WillReconnect { get; }

        public Disconnect(int code, int httpStatus, string error, string reason, bool willReconnect)
        {
            Code = code;
            HttpStatus = httpStatus;
            Error = error;
            Reason = reason;
            WillReconnect = willReconnect;
        }

        public override string ToString()
        {
            string what = HttpStatus != 0 ? "HTTP " + HttpStatus : "close " + Code;
            return what + (Error != null ? " (" + Error + ")" : "") + ": " + Reason;
        }
    }

    /// <summary>One socket, from its opening to its end, and the commands waiting on it.</summary>
    internal sealed class Link
    {
        public readonly ITransport Transport;

        /// <summary>Commands sent on this socket, by rid, waiting for their answer.</summary>
        public readonly Dictionary<string, TaskCompletionSource<Message>> Pending =
            new Dictionary<string, TaskCompletionSource<Message>>();

        /// <summary>The close code and reason, once the transport reports the end.</summary>
        public readonly TaskCompletionSource<KeyValuePair<int, string>> Closed =
            new TaskCompletionSource<KeyValuePair<int, string>>();

        /// <summary>Completes through <see cref="Later"/> once <see cref="Welcome"/> is called.</summary>
        public readonly TaskCompletionSource<bool> Welcomed = new TaskCompletionSource<bool>();

        /// <summary>The table this socket asked to resume, or null.</summary>
        public Resume Resumed;

        /// <summary>The last <c>error</c> that answered no command (e.g. a refused hello).</summary>
        public Error Refusal;

        /// <summary>Why the client dropped this socket itself, or null.</summary>
        public string Cause;

        /// <summary>Stops the liveness ping; null while none runs.</summary>
        public CancellationTokenSource Liveness;

        public Link(ITransport transport)
        {
            Transport = transport;
            // a transport may report its end under the client's lock (an Abort there): later, then
            transport.Closed += (code, reason) =>
                Later.Run(() => Closed.TrySetResult(new KeyValuePair<int, string>(code, reason)));
        }

        /// <summary>True from the welcome on (read and set under the client's lock), while
        /// <see cref="Welcomed"/>'s waiters may still be on their way.</summary>
        public bool IsWelcomed { get; private set; }

        /// <summary>The welcome came. Under the client's lock.</summary>
        public void Welcome()
        {
            IsWelcomed = true;
            Later.Run(() => Welcomed.TrySetResult(true));
        }

        /// <summary>Drops a socket the client no longer trusts; its end is reported with <paramref name="cause"/>.</summary>
        public void Drop(string cause)
        {
            Cause = cause;
            Transport.Abort();
        }

        public void StopLiveness()
        {
            if (Liveness == null) return;
            Liveness.Cancel();
            Liveness = null;
        }

        /// <summary>Fails every command still waiting: the socket that carried them is gone.</summary>
        public void FailPending(string reason)
        {
            foreach (TaskCompletionSource<Message> waiting in Pending.Values)
            {
                var lost = new MaratangException(MaratangException.ConnectionLost, reason, retry: true);
                Later.Run(() => waiting.TrySetException(lost));
            }
            Pending.Clear();
        }
    }
}
