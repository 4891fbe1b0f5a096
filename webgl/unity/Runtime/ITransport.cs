using System;
using System.Threading;
using System.Threading.Tasks;

namespace Maratang
{
    /// <summary>
    /// One WebSocket, as the client needs it: text frames in and out, and one close report.
    /// <see cref="ClientWebSocketTransport"/> serves the Editor, desktop, Android and iOS;
    /// the WebGL bridge (Runtime/Unity) serves browsers.
    /// </summary>
    public interface ITransport : IDisposable
    {
        /// <summary>
        /// Opens the socket offering <paramref name="subprotocol"/>. Completes once it is open;
        /// throws <see cref="TransportException"/> when the handshake fails.
        /// </summary>
        Task ConnectAsync(Uri url, string subprotocol, CancellationToken cancel);

        /// <summary>Sends one text frame. Throws <see cref="TransportException"/> if the socket is gone.</summary>
        Task SendAsync(string text, CancellationToken cancel);

        /// <summary>One text frame received. May be raised on any thread.</summary>
        event Action<string> Message;

        /// <summary>
        /// Raised once when the socket ends: the close code the peer sent, or 1006 when it was
        /// lost without a close frame (network error, <see cref="Abort"/>, liveness timeout).
        /// May be raised on any thread.
        /// </summary>
        event Action<int, string> Closed;

        /// <summary>
        /// True when the transport runs the app-level liveness ping itself (the WebGL bridge runs
        /// it in JavaScript, where a hidden tab's throttled Update cannot stop it) and reports a
        /// dead socket as <see cref="Closed"/> 1006. The client then sends no pings of its own.
        /// </summary>
        bool KeepsAlive { get; }

        /// <summary>Starts the liveness ping in the transport (only when <see cref="KeepsAlive"/>).</summary>
        void StartLiveness(int intervalMs, int timeoutMs);

        /// <summary>Starts a close handshake with <paramref name="code"/>; <see cref="Closed"/> follows.</summary>
        void Close(int code, string reason);

        /// <summary>Drops the socket at once, without a close handshake; <see cref="Closed"/> (1006) follows.</summary>
        void Abort();
    }

    /// <summary>Makes a new, unopened transport for each connection attempt.</summary>
    public delegate ITransport TransportFactory();

    /// <summary>A socket that could not be opened or used.</summary>
    public class TransportException : Exception
    {
        /// <summary>The HTTP status of a refused handshake (403: an unknown protocol version), or 0.</summary>
        public int Status { get; }

        public TransportException(string message, int status = 0, Exception inner = null)
            : base(message, inner)
        {
            Status = status;
        }
    }
}
