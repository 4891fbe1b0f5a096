using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using NUnit.Framework;

namespace Maratang.Tests
{
    /// <summary>
    /// A SynchronizationContext that runs what is posted to it only when the test pumps it, on
    /// the test's own thread: a WebGL build's one thread, with Unity's context. Whatever the
    /// client does on another thread (a thread-pool continuation, a .NET timer) is recorded by
    /// <see cref="Check"/> and <see cref="Post"/>, and a wait that never comes fails <see cref="RunUntil"/> quickly.
    /// </summary>
    internal sealed class OneThread : SynchronizationContext, IDisposable
    {
        /// <summary>How long a step may take in real time; every wait of the client is
        /// virtual, so a step that needs longer is waiting on something else.</summary>
        public static readonly TimeSpan Patience = TimeSpan.FromSeconds(2);

        private readonly Queue<Action> _posted = new Queue<Action>();
        private readonly SynchronizationContext _previous = Current;
        private readonly Thread _thread = Thread.CurrentThread;

        /// <summary>What ran off the test's thread, or without this context.</summary>
        public readonly List<string> Strays = new List<string>();

        public OneThread()
        {
            SetSynchronizationContext(this);
        }

        /// <summary>Queues <paramref name="callback"/>; one posted from another thread means the
        /// client went through that thread (a thread-pool continuation) to get here.</summary>
        public override void Post(SendOrPostCallback callback, object state)
        {
            if (Thread.CurrentThread != _thread) Stray("a post to the game's thread");
            lock (_posted)
            {
                _posted.Enqueue(() => callback(state));
                Monitor.PulseAll(_posted);
            }
        }

        public override void Send(SendOrPostCallback callback, object state)
        {
            throw new NotSupportedException("a single-threaded context cannot wait for itself");
        }

        /// <summary>Records <paramref name="what"/> as a stray unless it runs here.</summary>
        public void Check(string what)
        {
            if (Thread.CurrentThread != _thread || Current != this) Stray(what);
        }

        private void Stray(string what)
        {
            string where = Thread.CurrentThread.IsThreadPoolThread ? "a thread-pool thread" : "another thread";
            lock (Strays) Strays.Add(what + " came from " + where);
        }

        /// <summary>Runs what was posted until nothing is left.</summary>
        public void RunIdle()
        {
            Action next;
            while ((next = Take()) != null) next();
        }

        /// <summary>Runs what is posted until <paramref name="done"/> holds, waiting for posts up
        /// to <see cref="Patience"/> in all.</summary>
        public void RunUntil(Func<bool> done, string what)
        {
            var clock = Stopwatch.StartNew();
            while (true)
            {
                RunIdle();
                if (done()) return;
                TimeSpan left = Patience - clock.Elapsed;
                lock (_posted)
                {
                    if (_posted.Count == 0 && (left <= TimeSpan.Zero || !Monitor.Wait(_posted, left)))
                        Assert.Fail(what + " did not happen within " + Patience.TotalSeconds + " s of real time, with every "
                                    + "wait virtual: the client waited on something other than MaratangOptions.Delay "
                                    + "(Task.Delay, a CancellationTokenSource timeout) or on the thread pool");
                }
            }
        }

        public void Dispose()
        {
            SetSynchronizationContext(_previous);
        }

        private Action Take()
        {
            lock (_posted) return _posted.Count > 0 ? _posted.Dequeue() : null;
        }
    }
}
