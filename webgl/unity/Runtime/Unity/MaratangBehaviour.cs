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
        private MaratangClient _client;
        private NarrationPacer _narration;
        private bool _destroyed;

        /// <summary>The server's origin. Set it (or the Inspector field) before the first use of
        /// <see cref="Client"/>; in a WebGL build it may stay empty: the page's origin is used.</summary>
        public string Server
        {
            get { return server; }
            set
            {
                if (_client != null) throw new InvalidOperationException("the client is already made for " + server);
                server = value;
            }
        }

        /// <summary>The client, made on first use for <see cref="Server"/>.</summary>
        public MaratangClient Client
        {
            get
            {
                if (_destroyed) throw new ObjectDisposedException(nameof(MaratangBehaviour));
                return _client ?? (_client = MakeClient());
            }
        }

        /// <summary>How <see cref="Narration"/> paces the story; change it before the first use of <see cref="Narration"/>.</summary>
        public NarrationPaceOptions NarrationPace { get; set; } = new NarrationPaceOptions();

        /// <summary>
        /// The narration at reading pace, following <see cref="Client"/> and moved on in this
        /// component's <c>Update</c>: show <see cref="NarrationPacer.Shown"/>, and "…" while it is
        /// <see cref="NarrationPacer.Stalled"/>. Made on first use; what was told before shows at once.
        /// The client's own narration events are unchanged.
        /// </summary>
        public NarrationPacer Narration => _narration ?? (_narration = new NarrationPacer(Client, NarrationPace));

        /// <summary>The timers this build's client waits on: the browser's in a WebGL build
        /// (.NET's timers never fire there), <c>Task.Delay</c> everywhere else.</summary>
        public static Delay PlatformDelay()
        {
#if UNITY_WEBGL && !UNITY_EDITOR
            return WebGLTimers.Delay;
#else
            return Task.Delay;
#endif
        }

        /// <summary>The transport this build uses for every connection attempt.</summary>
        public static TransportFactory PlatformTransport()
        {
#if UNITY_WEBGL && !UNITY_EDITOR
            return () => new WebGLTransport();
#else
            return () => new ClientWebSocketTransport();
#endif
        }

        /// <summary>Where the server is: <see cref="Server"/>, or the page's own origin in a WebGL build.</summary>
        public Uri ServerUrl()
        {
            if (!string.IsNullOrEmpty(server)) return new Uri(server);
#if UNITY_WEBGL && !UNITY_EDITOR
            return new Uri(new Uri(Application.absoluteURL).GetLeftPart(UriPartial.Authority));
#else
            throw new InvalidOperationException("set MaratangBehaviour.Server (only a WebGL build can default to its page's origin)");
#endif
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
            Guest guest = await WebGLSignIn.SignInAsync(Options().HttpUrl(GuestSignIn.Path), name);
            Client.Token = guest.Token;
            return guest;
        }
#endif

        private MaratangClient MakeClient()
        {
            return new MaratangClient(Options());
        }

        private MaratangOptions Options()
        {
            return new MaratangOptions(ServerUrl())
            {
                Transport = PlatformTransport(),
                Delay = PlatformDelay(),
                Post = _handlers.Enqueue,
            };
        }

        protected virtual void Update()
        {
            Action handler;
            while (_handlers.TryDequeue(out handler)) handler();
            _narration?.Update();
        }

        /// <summary>Backgrounded (mobile, or the Editor's pause): no liveness ping and no
        /// reconnect attempt is spent while the app cannot run; back: probe or reconnect at once.</summary>
        protected virtual void OnApplicationPause(bool paused)
        {
            if (_client == null) return;
            if (paused) _client.Pause();
            else _client.Resume();
        }

        /// <summary>On phones focus leaves with the app. On desktop and in browsers the game keeps
        /// running unfocused (a hidden tab's socket is kept alive by the bridge), so only mobile
        /// pauses here; coming back with focus resumes on every platform (a no-op unless paused).</summary>
        protected virtual void OnApplicationFocus(bool focused)
        {
            if (_client == null) return;
            if (focused) _client.Resume();
            else if (Application.isMobilePlatform) _client.Pause();
        }

        protected virtual void OnDestroy()
        {
            _destroyed = true;
            _narration?.Dispose();
            _narration = null;
            _client?.Dispose();
            _client = null;
        }
    }
}
