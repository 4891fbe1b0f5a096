using System;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Maratang.Protocol;
using Newtonsoft.Json.Linq;

namespace Maratang
{
    /// <summary>A signed-in guest: the token that opens sockets, and the player it names.</summary>
    public sealed class Guest
    {
        public string Token { get; }

        /// <summary>The player as the server cleaned up the name; show this name.</summary>
        public PlayerView Player { get; }

        public Guest(string token, PlayerView player)
        {
            Token = token;
            Player = player;
        }
    }

    /// <summary>
    /// <c>POST /api/auth/guest</c>: a new guest player for a name. <see cref="Read"/> turns the
    /// answer into a <see cref="Guest"/> or a <see cref="MaratangException"/>, whatever made the
    /// request (HttpClient here; UnityWebRequest in a WebGL build, which has no System.Net).
    /// </summary>
    public static class GuestSignIn
    {
        /// <summary>The endpoint, relative to the server's address.</summary>
        public const string Path = "api/auth/guest";

        /// <summary>The request body for <paramref name="name"/>.</summary>
        public static string Body(string name)
        {
            return JsonCodec.Encode(new { name });
        }

        internal static async Task<Guest> SignInAsync(HttpClient http, Uri endpoint, string name, CancellationToken cancel)
        {
            var body = new StringContent(Body(name), Encoding.UTF8, "application/json");
            // HttpClient is not used in WebGL builds, so its continuations may run anywhere
            using (HttpResponseMessage response = await http.PostAsync(endpoint, body, cancel).ConfigureAwait(false))
                return Read((int)response.StatusCode, await response.Content.ReadAsStringAsync().ConfigureAwait(false));
        }

        /// <summary>
        /// The answer of a sign-in: the guest for a 2xx status, else the refusal in the API's
        /// error body <c>{"error": {code, message, field?}}</c> as an exception (status 0: the
        /// server could not be reached).
        /// </summary>
        public static Guest Read(int status, string body)
        {
            if (status < 200 || status >= 300) throw Refusal(status, body);
            JObject answer = JsonCodec.Parse(body);
            return new Guest((string)answer["token"], JsonCodec.ToObject<PlayerView>(answer["player"]));
        }

        private static MaratangException Refusal(int status, string body)
        {
            JObject error = null;
            try
            {
                error = JsonCodec.Parse(body ?? "")["error"] as JObject;
            }
            catch (Exception e) when (e is FormatException || e is Newtonsoft.Json.JsonException)
            {
                // not the API's error shape (a proxy's page): the status says enough
            }
            string said = status == 0 ? "the server could not be reached" : "sign-in refused: HTTP " + status;
            bool retry = status == 0 || status == 429 || status >= 500;
            return new MaratangException((string)error?["code"] ?? "http_" + status, (string)error?["message"] ?? said,
                retry, (string)error?["field"], status);
        }
    }
}
