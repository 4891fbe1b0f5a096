#if UNITY_WEBGL && !UNITY_EDITOR
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using AOT;

namespace Maratang.Unity
{
    /// <summary>
    /// The client's <see cref="Delay"/> on the browser's <c>setTimeout</c>, through the Maratang
    /// jslib. A WebGL build runs .NET code on one thread and has no thread for
    /// <c>System.Threading.Timer</c>, so <c>Task.Delay</c> and a <c>CancellationTokenSource</c>'s
    /// timeout never fire there. A browser timer also keeps firing in a hidden tab, where
    /// <c>Update</c> stops; the wait completes inside the timer's callback, so what the client
    /// does next (a reconnect attempt after its backoff, a timeout) runs then too.
    /// </summary>
    public static class WebGLTimers
    {
        private delegate void FireCallback(int id);

        [DllImport("__Internal")] private static extern void MaratangTimerInit(FireCallback onFire);
        [DllImport("__Internal")] private static extern void MaratangTimerStart(int id, int ms);
        [DllImport("__Internal")] private static extern void MaratangTimerCancel(int id);

        private static readonly Dictionary<int, Waiting> Timers = new Dictionary<int, Waiting>();
        private static int _lastId;
        private static bool _initialised;

        private sealed class Waiting
        {
            public readonly TaskCompletionSource<bool> Done = new TaskCompletionSource<bool>();
            public CancellationTokenRegistration Cancelled;
        }

        /// <summary>Completes after <paramref name="span"/> (at most about 24 days), or ends
        /// cancelled once <paramref name="cancel"/> is; a <see cref="Delay"/>.</summary>
        public static Task Delay(TimeSpan span, CancellationToken cancel)
        {
            if (cancel.IsCancellationRequested) return Task.FromCanceled(cancel);
            if (!_initialised)
            {
                MaratangTimerInit(OnFire);
                _initialised = true;
            }
            int id = ++_lastId;
            var waiting = new Waiting();
            Timers[id] = waiting;
            MaratangTimerStart(id, (int)Math.Min(int.MaxValue, Math.Max(0, Math.Ceiling(span.TotalMilliseconds))));
            waiting.Cancelled = cancel.Register(() =>
            {
                if (!Timers.Remove(id)) return;
                MaratangTimerCancel(id);
                waiting.Done.TrySetCanceled();
            });
            return waiting.Done.Task;
        }

        [MonoPInvokeCallback(typeof(FireCallback))]
        private static void OnFire(int id)
        {
            Waiting waiting;
            if (!Timers.TryGetValue(id, out waiting)) return;
            Timers.Remove(id);
            waiting.Cancelled.Dispose();
            WebGLTransport.Guard(() => waiting.Done.TrySetResult(true));
        }
    }
}
#endif
