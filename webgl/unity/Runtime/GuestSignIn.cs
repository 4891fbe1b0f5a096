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

    /// <summary><c>POST /api/auth/guest</c>: a new guest player for a name.</summary>
    internal static class GuestSignIn
    {
        public static async Task<Guest> SignInAsync(HttpClient http, Uri endpoint, string name, CancellationToken cancel)
        {
            var body = new StringContent(JsonCodec.Encode(new { name }), Encoding.UTF8, "application/json");
            using (HttpResponseMessage response = await http.PostAsync(endpoint, body, cancel)
                       .ConfigureAwait(false))
            {
                string text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                if (!response.IsSuccessStatusCode) throw Refusal((int)response.StatusCode, text);
                JObject answer = JsonCodec.Parse(text);
                return new Guest((string)answer["token"], JsonCodec.ToObject<PlayerView>(answer["player"]));
            }
        }

        /// <summary>An HTTP error body <c>{"error": {code, message, field?}}</c> as an exception.</summary>
        private static MaratangException Refusal(int status, string text)
        {
            JObject error = null;
            try
            {
                error = JsonCodec.Parse(text)["error"] as JObject;
            }
            catch (Exception e) when (e is FormatException || e is Newtonsoft.Json.JsonException)
            {
                // not the API's error shape (a proxy's page): the status says enough
            }
            string code = (string)error?["code"] ?? "http_" + status;
            bool retry = status == 429 || status == 503 || status >= 500;
            return new MaratangException(code, (string)error?["message"] ?? "sign-in refused: HTTP " + status, retry,
                (string)error?["field"], status);
        }
    }
}
