using System;
using Maratang.Protocol;

namespace Maratang
{
    /// <summary>
    /// A command or sign-in the server refused (its <c>error</c> frame or HTTP error body), or a
    /// command the connection could not carry. <see cref="Code"/> is the protocol's error code
    /// (<see cref="ErrorCode"/>) or one of the client's own below; branch on it, not on the message.
    /// </summary>
    public class MaratangException : Exception
    {
        /// <summary>The socket carrying the command was lost before its answer came; the events
        /// tell whether it took effect. Retrying is safe for every command but <c>session.create</c>.</summary>
        public const string ConnectionLost = "connection_lost";

        /// <summary>The client is not connected and will not reconnect by itself (a terminal
        /// close, the retry budget spent, or the app closed it).</summary>
        public const string Offline = "offline";

        /// <summary>The protocol's error code, or <see cref="ConnectionLost"/> / <see cref="Offline"/>.</summary>
        public string Code { get; }

        /// <summary>Whether sending the same command again later can succeed.</summary>
        public bool Retry { get; }

        /// <summary>The offending field of an <c>invalid</c> command, e.g. <c>spice</c>; else null.</summary>
        public string Field { get; }

        /// <summary>The HTTP status of a refused sign-in, or 0.</summary>
        public int Status { get; }

        public MaratangException(string code, string message, bool retry = false, string field = null, int status = 0)
            : base(message ?? code)
        {
            Code = code;
            Retry = retry;
            Field = field;
            Status = status;
        }

        /// <summary>The exception an <c>error</c> frame stands for.</summary>
        public static MaratangException From(Error error)
        {
            return new MaratangException(error.Code, error.Message, error.Retry, error.Field);
        }
    }
}
