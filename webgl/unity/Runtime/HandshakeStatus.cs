using System;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading;
using System.Threading.Tasks;

namespace Maratang
{
    /// <summary>
    /// The HTTP status with which a server refuses a WebSocket handshake. Some ClientWebSocket
    /// builds (Mono's, which Unity uses) report a refused handshake as "unable to connect"
    /// without its status, yet a 403 (an unknown protocol version) must stop the client while a
    /// 429 or 503 must not: this asks again with a plain HTTP upgrade request and reads the answer.
    /// </summary>
    internal static class HandshakeStatus
    {
        private static readonly HttpClient Http = new HttpClient();

        /// <summary>The status of the upgrade request, or 0 when no HTTP answer came.</summary>
        public static async Task<int> AskAsync(Uri socketUrl, string subprotocol, CancellationToken cancel)
        {
            var builder = new UriBuilder(socketUrl) { Scheme = socketUrl.Scheme == "wss" ? "https" : "http" };
            var request = new HttpRequestMessage(HttpMethod.Get, builder.Uri);
            request.Headers.Connection.Add("Upgrade");
            request.Headers.Upgrade.Add(new ProductHeaderValue("websocket"));
            request.Headers.Add("Sec-WebSocket-Version", "13");
            request.Headers.Add("Sec-WebSocket-Key", Convert.ToBase64String(Guid.NewGuid().ToByteArray()));
            request.Headers.Add("Sec-WebSocket-Protocol", subprotocol);
            try
            {
                using (HttpResponseMessage response = await Http
                           .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel).ConfigureAwait(false))
                    return (int)response.StatusCode;
            }
            catch (Exception e) when (e is HttpRequestException || e is OperationCanceledException)
            {
                return 0;
            }
            finally
            {
                request.Dispose();
            }
        }
    }
}
