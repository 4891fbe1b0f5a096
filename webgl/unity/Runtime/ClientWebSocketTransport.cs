using System;
using System.IO;
using System.Net.WebSockets;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;

namespace Maratang
{
    /// <summary>
    /// <see cref="ITransport"/> on <see cref="ClientWebSocket"/> (Editor, desktop, Android, iOS).
    /// One receive loop assembles fragmented text frames; the end is reported once, with the
    /// peer's close code, or 1006 when the socket was aborted or the network failed. It runs no
    /// liveness ping of its own (<see cref="KeepsAlive"/> is false): the client pings.
    /// </summary>
    public sealed class ClientWebSocketTransport : ITransport
    {
        /// <summary>The largest message accepted; the server's frames fit well within it.</summary>
        public const int MaxMessageBytes = 4 << 20;

        private static readonly Regex HttpStatus = new Regex(@"\b([1-5]\d\d)\b");
        private readonly ClientWebSocket _socket = new ClientWebSocket();
        private readonly SemaphoreSlim _sending = new SemaphoreSlim(1, 1);
        private readonly CancellationTokenSource _life = new CancellationTokenSource();
        private int _ended;

        public event Action<string> Message;
        public event Action<int, string> Closed;

        public bool KeepsAlive => false;

        public async Task ConnectAsync(Uri url, string subprotocol, CancellationToken cancel)
        {
            _socket.Options.AddSubProtocol(subprotocol);
            try
            {
                await _socket.ConnectAsync(url, cancel).ConfigureAwait(false);
            }
            catch (Exception e) when (!(e is OperationCanceledException) || !cancel.IsCancellationRequested)
            {
                int status = StatusOf(e);
                if (status == 0) status = await HandshakeStatus.AskAsync(url, subprotocol, cancel).ConfigureAwait(false);
                throw new TransportException("could not open " + url + ": " + Describe(e)
                                             + (status != 0 ? " (HTTP " + status + ")" : ""), status, e);
            }
            if (_socket.SubProtocol != subprotocol)
            {
                Kill();
                throw new TransportException("the server did not accept " + subprotocol);
            }
            _ = Task.Run(ReceiveAsync);
        }

        public async Task SendAsync(string text, CancellationToken cancel)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            await _sending.WaitAsync(cancel).ConfigureAwait(false);
            try
            {
                await _socket.SendAsync(new ArraySegment<byte>(bytes), WebSocketMessageType.Text, true, cancel)
                    .ConfigureAwait(false);
            }
            catch (Exception e) when (e is WebSocketException || e is IOException || e is ObjectDisposedException
                                      || e is InvalidOperationException)
            {
                throw new TransportException("send failed: " + Describe(e), 0, e);
            }
            finally
            {
                _sending.Release();
            }
        }

        /// <summary>Not used: this transport leaves liveness to the client (<see cref="KeepsAlive"/> is false).</summary>
        public void StartLiveness(int intervalMs, int timeoutMs)
        {
        }

        public void Close(int code, string reason)
        {
            Task.Run(async () =>
            {
                try
                {
                    await _socket.CloseOutputAsync((WebSocketCloseStatus)code, reason, _life.Token).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    Abort(); // the socket was already unusable: end it now
                }
            });
        }

        public void Abort()
        {
            Kill();
            End(1006, "aborted");
        }

        public void Dispose()
        {
            _life.Cancel();
            _socket.Dispose();
        }

        private async Task ReceiveAsync()
        {
            var buffer = new byte[16 * 1024];
            var message = new MemoryStream();
            try
            {
                while (true)
                {
                    WebSocketReceiveResult part = await _socket.ReceiveAsync(new ArraySegment<byte>(buffer), _life.Token)
                        .ConfigureAwait(false);
                    if (part.MessageType == WebSocketMessageType.Close)
                    {
                        await AnswerCloseAsync(part.CloseStatus).ConfigureAwait(false);
                        End((int?)part.CloseStatus ?? 1005, part.CloseStatusDescription ?? "");
                        return;
                    }
                    message.Write(buffer, 0, part.Count);
                    if (message.Length > MaxMessageBytes) throw new InvalidDataException("a message over " + MaxMessageBytes + " bytes");
                    if (!part.EndOfMessage) continue;
                    if (part.MessageType == WebSocketMessageType.Text)
                        Message?.Invoke(Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length));
                    message.SetLength(0);
                }
            }
            catch (Exception e)
            {
                Kill();
                End(1006, Describe(e));
            }
        }

        /// <summary>Completes the close handshake the server started (unless we started it).</summary>
        private async Task AnswerCloseAsync(WebSocketCloseStatus? status)
        {
            if (_socket.State != WebSocketState.CloseReceived) return;
            try
            {
                // a .NET timer is fine here: this transport runs where threads do (never in WebGL)
                using (var soon = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
                    await _socket.CloseOutputAsync(status ?? WebSocketCloseStatus.NormalClosure, "", soon.Token)
                        .ConfigureAwait(false);
            }
            catch (Exception)
            {
                Kill(); // the server has gone already; the close it sent is what counts
            }
        }

        private void Kill()
        {
            _life.Cancel();
            try
            {
                _socket.Abort();
            }
            catch (ObjectDisposedException)
            {
                // ended and disposed already: nothing left to drop
            }
        }

        private void End(int code, string reason)
        {
            if (Interlocked.Exchange(ref _ended, 1) == 0) Closed?.Invoke(code, reason);
        }

        /// <summary>The HTTP status of a refused handshake, which ClientWebSocket only tells in words.</summary>
        private static int StatusOf(Exception e)
        {
            for (Exception inner = e; inner != null; inner = inner.InnerException)
            {
                if (inner.Message.IndexOf("status", StringComparison.OrdinalIgnoreCase) < 0) continue;
                Match found = HttpStatus.Match(inner.Message.Replace("101", ""));
                if (found.Success) return int.Parse(found.Groups[1].Value);
            }
            return 0;
        }

        private static string Describe(Exception e)
        {
            return e.InnerException == null ? e.Message : e.Message + " (" + e.InnerException.Message + ")";
        }
    }
}
