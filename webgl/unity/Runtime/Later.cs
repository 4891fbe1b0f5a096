using System;
using System.Threading;

namespace Maratang
{
    /// <summary>
    /// Completes a task's waiters later, off the caller's stack and outside the client's lock:
    /// the job of <c>TaskCreationOptions.RunContinuationsAsynchronously</c>, which hands them to
    /// the thread pool, and a WebGL build's thread pool never runs them. On a thread with a
    /// SynchronizationContext (the game's; in WebGL the only thread, and it always has Unity's)
    /// the completion is posted to it; elsewhere (a socket thread of ClientWebSocketTransport,
    /// a program without a context) the thread pool, which those platforms have, runs it.
    /// </summary>
    internal static class Later
    {
        public static void Run(Action complete)
        {
            SynchronizationContext context = SynchronizationContext.Current;
            if (context != null) context.Post(state => ((Action)state)(), complete);
            else ThreadPool.QueueUserWorkItem(state => ((Action)state)(), complete);
        }
    }
}
