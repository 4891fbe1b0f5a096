using Maratang.Protocol;

namespace Maratang
{
    /// <summary>
    /// Which socket endings the client reconnects after. It stops for good only when no new
    /// socket can succeed: a terminal close (<see cref="CloseCode.IsTerminal"/>: 4401, sign in
    /// again; 4429, abuse), a handshake refused with HTTP 403 (this SDK speaks a protocol version
    /// the server no longer knows), or a close the app asked for. Every other ending — the
    /// resumable closes, an unexpected 1000 or 1009 from the server, a socket lost without a close
    /// frame (1006), a refused handshake with 429 or 503 — is retried with backoff and resumed.
    /// </summary>
    public static class ClosePolicy
    {
        /// <summary>The close code the transports report for a socket lost without a close frame.</summary>
        public const int Lost = 1006;

        /// <summary>The HTTP status of a handshake refused for an unknown protocol version.</summary>
        public const int UnknownVersion = 403;

        public static bool ShouldReconnect(int closeCode, bool requestedByApp)
        {
            return !requestedByApp && !CloseCode.IsTerminal(closeCode);
        }

        public static bool ShouldRetryHandshake(int httpStatus)
        {
            return httpStatus != UnknownVersion;
        }
    }
}
