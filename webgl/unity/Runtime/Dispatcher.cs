using System;
using System.Collections.Concurrent;
using System.Threading;

namespace Maratang
{
    /// <summary>
    /// Hands event handlers to the game's thread, in the order they were posted: through a
    /// <see cref="SynchronizationContext"/>, or into a queue the game drains from its update loop.
    /// </summary>
    internal sealed class Dispatcher
    {
        private readonly ConcurrentQueue<Action> _queue = new ConcurrentQueue<Action>();

        public Action<Action> Post { get; }

        public Dispatcher(Action<Action> post)
        {
            Post = post ?? Default();
        }

        /// <summary>Runs the handlers queued so far (none when posting elsewhere); returns how many.</summary>
        public int Drain()
        {
            int ran = 0;
            Action handler;
            while (_queue.TryDequeue(out handler))
            {
                handler();
                ran++;
            }
            return ran;
        }

        private Action<Action> Default()
        {
            SynchronizationContext context = SynchronizationContext.Current;
            if (context == null) return _queue.Enqueue;
            return handler => context.Post(state => ((Action)state)(), handler);
        }
    }
}
