#if UNITY_WEBGL && !UNITY_EDITOR
using System;
using System.Text;
using System.Threading.Tasks;
using UnityEngine.Networking;

namespace Maratang.Unity
{
    /// <summary>
    /// The guest sign-in (<c>POST /api/auth/guest</c>) through UnityWebRequest: a browser build
    /// has no System.Net, so <see cref="MaratangClient.SignInAsync"/>'s HttpClient cannot reach
    /// the server there. The answer is read by the core's <see cref="GuestSignIn.Read"/>.
    /// </summary>
    internal static class WebGLSignIn
    {
        public static Task<Guest> SignInAsync(Uri endpoint, string name)
        {
            var answer = new TaskCompletionSource<Guest>();
            byte[] body = Encoding.UTF8.GetBytes(GuestSignIn.Body(name));
            var request = new UnityWebRequest(endpoint.AbsoluteUri, "POST",
                new DownloadHandlerBuffer(), new UploadHandlerRaw(body));
            request.SetRequestHeader("Content-Type", "application/json");
            request.SendWebRequest().completed += _ =>
            {
                using (request)
                {
                    try
                    {
                        answer.SetResult(GuestSignIn.Read((int)request.responseCode, request.downloadHandler.text));
                    }
                    catch (Exception e)
                    {
                        answer.SetException(e);
                    }
                }
            };
            return answer.Task;
        }
    }
}
#endif
