using System.Threading.Tasks;

namespace Maratang
{
    /// <summary>
    /// Wakes whoever waits on <see cref="Current"/>. Take <see cref="Current"/> before checking
    /// the condition that <see cref="Set"/> announces, so no wake-up falls between the two.
    /// </summary>
    internal sealed class Wakeup
    {
        private readonly object _gate = new object();
        private TaskCompletionSource<bool> _next = Fresh();

        public Task Current
        {
            get { lock (_gate) return _next.Task; }
        }

        public void Set()
        {
            TaskCompletionSource<bool> woken;
            lock (_gate)
            {
                woken = _next;
                _next = Fresh();
            }
            Later.Run(() => woken.TrySetResult(true)); // the waiter goes on off the caller's stack
        }

        private static TaskCompletionSource<bool> Fresh()
        {
            return new TaskCompletionSource<bool>();
        }
    }
}
