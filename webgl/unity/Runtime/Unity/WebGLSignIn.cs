#if UNITY_WEBGL && !UNITY_EDITOR
using System;
using System.Text;
using System.Threading.Tasks;
using Maratang.Protocol;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using UnityEngine.Networking;

namespace Maratang.Unity
{
    /// <summary>
    /// The guest sign-in (<c>POST /api/auth/guest</c>) through UnityWebRequest: a browser build
    /// has no System.Net, so <see cref="MaratangClient.SignInAsync"/>'s HttpClient cannot reach
    /// the server there. Answers and refusals are read as the core reads them.
    /// </summary>
    internal static class WebGLSignIn
    {
        public static Task<Guest> SignInAsync(Uri server, string name)
        {
            var answer = new TaskCompletionSource<Guest>();
            byte[] body = Encoding.UTF8.GetBytes(new JObject { ["name"] = name }.ToString(Formatting.None));
            var request = new UnityWebRequest(new Uri(server, "/api/auth/guest").AbsoluteUri, "POST",
                new DownloadHandlerBuffer(), new UploadHandlerRaw(body));
            request.SetRequestHeader("Content-Type", "application/json");
            request.SendWebRequest().completed += _ =>
            {
                using (request)
                {
                    try
                    {
                        answer.SetResult(Read((int)request.responseCode, request.downloadHandler.text));
                    }
                    catch (Exception e)
                    {
                        answer.SetException(e);
                    }
                }
            };
            return answer.Task;
        }

        private static Guest Read(int status, string text)
        {
            JObject json = ParseOrNull(text);
            if (status == 200 && json != null)
                return new Guest((string)json["token"], json["player"].ToObject<PlayerView>());
            var error = json?["error"] as JObject;
            string message = (string)error?["message"] ?? (status == 0 ? "the server could not be reached" : "sign-in refused: HTTP " + status);
            bool retry = status == 0 || status == 429 || status >= 500;
            throw new MaratangException((string)error?["code"] ?? "http_" + status, message, retry, (string)error?["field"], status);
        }

        private static JObject ParseOrNull(string text)
        {
            try
            {
                return JObject.Parse(text ?? "");
            }
            catch (JsonException)
            {
                return null; // not the API's JSON (a proxy's error page): the status says enough
            }
        }
    }
}
#endif
