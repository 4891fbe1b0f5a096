#if UNITY_WEBGL && !UNITY_EDITOR
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using AOT;

namespace Maratang.Unity
{
    /// <summary>
    /// <see cref="ITransport"/> on the browser's WebSocket, through the Maratang jslib
    /// (Plugins/WebGL/MaratangWebSocket.jslib). The liveness ping runs in JavaScript
    /// (<see cref="KeepsAlive"/> is true), where a hidden tab's throttled <c>Update</c> cannot
    /// stop it; close codes arrive exactly as the browser reports them. WebGL is single-threaded:
    /// every callback runs on the main thread, between frames.
    /// </summary>
    public sealed class WebGLTransport : ITransport
    {
        private delegate void OpenCallback(int id);
        private delegate void TextCallback(int id, IntPtr utf8, int length);
        private delegate void CloseCallback(int id, int code, IntPtr utf8Reason, int length);

        [DllImport("__Internal")] private static extern void MaratangSocketInit(OpenCallback onOpen, TextCallback onMessage, CloseCallback onClose);
        [DllImport("__Internal")] private static extern int MaratangSocketConnect(int id, string url, string subprotocol);
        [DllImport("__Internal")] private static extern int MaratangSocketSend(int id, string text);
        [DllImport("__Internal")] private static extern void MaratangSocketStartLiveness(int id, int intervalMs, int timeoutMs);
        [DllImport("__Internal")] private static extern void MaratangSocketClose(int id, int code, string reason);
        [DllImport("__Internal")] private static extern void MaratangSocketAbort(int id);
        [DllImport("__Internal")] private static extern void MaratangSocketRelease(int id);

        private static readonly Dictionary<int, WebGLTransport> Live = new Dictionary<int, WebGLTransport>();
        private static int _lastId;
        private static bool _initialised;

        private readonly int _id;
        private readonly TaskCompletionSource<bool> _opened = new TaskCompletionSource<bool>();
        private bool _ended;

        public event Action<string> Message;
        public event Action<int, string> Closed;

        public bool KeepsAlive => true;

        public WebGLTransport()
        {
            if (!_initialised)
            {
                MaratangSocketInit(OnOpen, OnMessage, OnClose);
                _initialised = true;
            }
            _id = ++_lastId;
        }

        public Task ConnectAsync(Uri url, string subprotocol, CancellationToken cancel)
        {
            Live[_id] = this;
            if (MaratangSocketConnect(_id, url.AbsoluteUri, subprotocol) != 0)
            {
                Live.Remove(_id);
                throw new TransportException("the browser refused to open " + url);
            }
            cancel.Register(() =>
            {
                if (_opened.TrySetCanceled()) Forget();
            });
            return _opened.Task;
        }

        public Task SendAsync(string text, CancellationToken cancel)
        {
            if (MaratangSocketSend(_id, text) != 0) throw new TransportException("the socket is not open");
            return Task.CompletedTask;
        }

        public void StartLiveness(int intervalMs, int timeoutMs)
        {
            MaratangSocketStartLiveness(_id, intervalMs, timeoutMs);
        }

        public void Close(int code, string reason)
        {
            MaratangSocketClose(_id, code, reason ?? "");
        }

        public void Abort()
        {
            MaratangSocketAbort(_id);
        }

        public void Dispose()
        {
            Forget();
        }

        private void Forget()
        {
            Live.Remove(_id);
            MaratangSocketRelease(_id);
        }

        private void Ended(int code, string reason)
        {
            if (_ended) return;
            _ended = true;
            Live.Remove(_id);
            MaratangSocketRelease(_id);
            if (_opened.TrySetException(new TransportException("could not open the socket (" + code + ")")))
                return; // a handshake that failed: the socket never existed, so no Closed
            Closed?.Invoke(code, reason);
        }

        [MonoPInvokeCallback(typeof(OpenCallback))]
        private static void OnOpen(int id)
        {
            WebGLTransport transport;
            if (Live.TryGetValue(id, out transport)) Guard(() => transport._opened.TrySetResult(true));
        }

        [MonoPInvokeCallback(typeof(TextCallback))]
        private static void OnMessage(int id, IntPtr utf8, int length)
        {
            WebGLTransport transport;
            if (!Live.TryGetValue(id, out transport)) return;
            string text = Copy(utf8, length);
            Guard(() => transport.Message?.Invoke(text));
        }

        [MonoPInvokeCallback(typeof(CloseCallback))]
        private static void OnClose(int id, int code, IntPtr utf8Reason, int length)
        {
            WebGLTransport transport;
            if (!Live.TryGetValue(id, out transport)) return;
            string reason = Copy(utf8Reason, length);
            Guard(() => transport.Ended(code, reason));
        }

        /// <summary>An exception must not unwind into JavaScript (it would abort the player): log it.</summary>
        internal static void Guard(Action callback)
        {
            try
            {
                callback();
            }
            catch (Exception e)
            {
                UnityEngine.Debug.LogException(e);
            }
        }

        /// <summary>The jslib frees its buffer when the callback returns: copy it out first.</summary>
        private static string Copy(IntPtr utf8, int length)
        {
            var bytes = new byte[length];
            Marshal.Copy(utf8, bytes, 0, length);
            return Encoding.UTF8.GetString(bytes);
        }
    }
}
#endif
