using System;
using System.Threading;
using System.Threading.Tasks;

namespace Maratang
{
    /// <summary>
    /// The client's clock for waiting: a task that completes after <paramref name="span"/>, or
    /// ends cancelled once <paramref name="cancel"/> is. Every wait of the client goes through
    /// one (<see cref="MaratangOptions.Delay"/>): <see cref="Task.Delay(TimeSpan, CancellationToken)"/>
    /// on platforms with threads; a WebGL build has no thread for .NET's timers to fire on, so
    /// there it is the browser's <c>setTimeout</c>.
    /// </summary>
    public delegate Task Delay(TimeSpan span, CancellationToken cancel);

    /// <summary>
    /// A token cancelled once a span has passed on the client's <see cref="Delay"/> — what
    /// <c>new CancellationTokenSource(span)</c> does with a .NET timer, which never fires in a
    /// WebGL build. Disposing it stops the timer (the token is then never cancelled).
    /// </summary>
    internal sealed class Deadline : IDisposable
    {
        private readonly CancellationTokenSource _expired = new CancellationTokenSource();
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();

        public Deadline(Delay delay, TimeSpan span)
        {
            _ = ExpireAsync(delay, span);
        }

        public CancellationToken Token => _expired.Token;

        public void Dispose()
        {
            _stop.Cancel();
        }

        private async Task ExpireAsync(Delay delay, TimeSpan span)
        {
            try
            {
                await delay(span, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (!_stop.IsCancellationRequested) _expired.Cancel();
        }
    }

    internal static class DelayExtensions
    {
        /// <summary>True when <paramref name="task"/> completes within <paramref name="limit"/>;
        /// the timer is stopped either way.</summary>
        public static async Task<bool> FinishesWithin(this Delay delay, Task task, TimeSpan limit)
        {
            var stop = new CancellationTokenSource();
            Task first = await Task.WhenAny(task, delay(limit, stop.Token));
            stop.Cancel();
            return first == task;
        }
    }
}
