using System;
using System.Collections.Concurrent;
using System.Threading.Tasks;
using UnityEngine;

namespace Maratang.Unity
{
    /// <summary>
    /// Owns a <see cref="MaratangClient"/> for a scene: its events run in this component's
    /// <c>Update</c>, in order; the app's pause and focus drive <see cref="MaratangClient.Pause"/>
    /// and <see cref="MaratangClient.Resume"/>; the client is disposed with the component. Each
    /// platform gets its transport: the WebGL bridge in browser builds, .NET's ClientWebSocket
    /// everywhere else (Editor, desktop, Android, iOS).
    /// </summary>
    public class MaratangBehaviour : MonoBehaviour
    {
        [SerializeField]
        [Tooltip("The server's HTTPS origin, e.g. https://maratang.example; empty in a WebGL build: the page's own origin.")]
        private string server = "";

        private readonly ConcurrentQueue<Action> _handlers = new ConcurrentQueue<Action>();

        /// <summary>The client, made in <c>Awake</c>.</summary>
        public MaratangClient Client { get; private set; }

        /// <summary>The transport this build uses for every connection attempt.</summary>
        public static TransportFactory PlatformTransport()
        {
#if UNITY_WEBGL && !UNITY_EDITOR
            return () => new WebGLTransport();
#else
            return () => new ClientWebSocketTransport();
#endif
        }

        /// <summary>Where the server is: the configured origin, or the page's own in a WebGL build.</summary>
        public Uri ServerUrl()
        {
            if (!string.IsNullOrEmpty(server)) return new Uri(server);
            var page = new Uri(Application.absoluteURL);
            return new Uri(page.GetLeftPart(UriPartial.Authority));
        }

        /// <summary>
        /// Signs in as a new guest and keeps the token in <see cref="Client"/>. In a WebGL build
        /// this goes through UnityWebRequest (browsers offer no System.Net); elsewhere it is
        /// <see cref="MaratangClient.SignInAsync"/>.
        /// </summary>
        public Task<Guest> SignInAsync(string name)
        {
#if UNITY_WEBGL && !UNITY_EDITOR
            return SignInInBrowserAsync(name);
#else
            return Client.SignInAsync(name);
#endif
        }

#if UNITY_WEBGL && !UNITY_EDITOR
        private async Task<Guest> SignInInBrowserAsync(string name)
        {
            Guest guest = await WebGLSignIn.SignInAsync(ServerUrl(), name);
            Client.Token = guest.Token;
            return guest;
        }
#endif

        protected virtual void Awake()
        {
            var options = new MaratangOptions(ServerUrl()) { Transport = PlatformTransport(), Post = _handlers.Enqueue };
            Client = new MaratangClient(options);
        }

        protected virtual void Update()
        {
            Action handler;
            while (_handlers.TryDequeue(out handler)) handler();
        }

        /// <summary>Backgrounded (mobile, or the Editor's pause): no liveness ping and no
        /// reconnect attempt is spent while the app cannot run; back: probe or reconnect at once.</summary>
        protected virtual void OnApplicationPause(bool paused)
        {
            if (Client == null) return;
            if (paused) Client.Pause();
            else Client.Resume();
        }

        /// <summary>On phones focus leaves with the app. On desktop and in browsers the game keeps
        /// running unfocused (a hidden tab's socket is kept alive by the bridge), so only mobile
        /// pauses here; coming back with focus resumes on every platform (a no-op unless paused).</summary>
        protected virtual void OnApplicationFocus(bool focused)
        {
            if (Client == null) return;
            if (focused) Client.Resume();
            else if (Application.isMobilePlatform) Client.Pause();
        }

        protected virtual void OnDestroy()
        {
            Client?.Dispose();
            Client = null;
        }
    }
}
