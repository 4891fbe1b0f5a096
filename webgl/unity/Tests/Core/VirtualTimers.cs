using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace Maratang.Tests
{
    /// <summary>
    /// A <see cref="Delay"/> on virtual time that only the test moves (<see cref="Advance"/>):
    /// waits complete on the test's thread, inside <see cref="Advance"/>, as the browser's timers
    /// complete them inside their callback in a WebGL build. Nothing is waited for in real time.
    /// </summary>
    internal sealed class VirtualTimers
    {
        private sealed class Waiting
        {
            public TimeSpan Due;
            public TimeSpan Span;
            public readonly TaskCompletionSource<bool> Done = new TaskCompletionSource<bool>();
        }

        private readonly List<Waiting> _waiting = new List<Waiting>();

        /// <summary>Told of every wait asked for, as it is asked.</summary>
        public Action<TimeSpan> Asked = span => { };

        public TimeSpan Now { get; private set; }

        /// <summary>The spans of the waits still running.</summary>
        public IList<TimeSpan> Pending => _waiting.Select(w => w.Span).ToList();

        public Task Delay(TimeSpan span, CancellationToken cancel)
        {
            Asked(span);
            if (cancel.IsCancellationRequested) return Task.FromCanceled(cancel);
            var waiting = new Waiting { Due = Now + span, Span = span };
            _waiting.Add(waiting);
            cancel.Register(() =>
            {
                if (_waiting.Remove(waiting)) waiting.Done.TrySetCanceled();
            });
            return waiting.Done.Task;
        }

        /// <summary>Moves the clock on by <paramref name="span"/>, completing each wait that
        /// falls due, in order, at its own time.</summary>
        public void Advance(TimeSpan span)
        {
            TimeSpan until = Now + span;
            while (true)
            {
                Waiting next = _waiting.Where(w => w.Due <= until).OrderBy(w => w.Due).FirstOrDefault();
                if (next == null) break;
                _waiting.Remove(next);
                Now = next.Due;
                next.Done.TrySetResult(true);
            }
            Now = until;
        }
    }
}
