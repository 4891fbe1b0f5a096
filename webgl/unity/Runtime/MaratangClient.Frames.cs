using System;
using System.Threading.Tasks;
using Maratang.Protocol;
using Newtonsoft.Json;

namespace Maratang
{
    /// <summary>What each server frame does, handled one at a time under the lock.</summary>
    public sealed partial class MaratangClient
    {
        private void OnFrame(Link link, string text)
        {
            Message message;
            try
            {
                message = JsonCodec.DecodeServer(text);
            }
            catch (Exception e) when (e is FormatException || e is JsonException)
            {
                return; // not a frame of this protocol: nothing in it can be applied
            }
            if (message == null) return; // a reply type newer than this SDK
            lock (_gate)
            {
                if (link == _link) Handle(link, message);
            }
        }

        private void Handle(Link link, Message message)
        {
            switch (message.T)
            {
                case MessageType.Welcome: OnWelcome(link, (Welcome)message); break;
                case MessageType.Ack: Answer(link, ((Ack)message).Rid, waiting => waiting.TrySetResult(message)); break;
                case MessageType.Pong: OnPong(link, (Pong)message); break;
                case MessageType.Error: OnError(link, (Error)message); break;
                case MessageType.Sync: OnSync((Sync)message); break;
                case MessageType.Bye: _byeDelay = TimeSpan.FromMilliseconds(((Bye)message).RetryMs); break;
                default:
                    var e = message as SessionEvent;
                    if (e != null) OnEvent(link, e);
                    break;
            }
        }

        /// <summary>Settles the command waiting for <paramref name="rid"/>, if any, once out of the lock.</summary>
        private static void Answer(Link link, string rid, Action<TaskCompletionSource<Message>> settle)
        {
            TaskCompletionSource<Message> waiting;
            if (rid != null && link.Pending.TryGetValue(rid, out waiting)) Later.Run(() => settle(waiting));
        }

        private void OnPong(Link link, Pong pong)
        {
            Clock.Ponged(pong.Ts, pong.ServerTime, NowMs());
            Answer(link, pong.Rid, waiting => waiting.TrySetResult(pong));
        }

        private void OnError(Link link, Error error)
        {
            if (error.Rid != null && link.Pending.ContainsKey(error.Rid))
                Answer(link, error.Rid, waiting => waiting.TrySetException(MaratangException.From(error)));
            else if (error.Rid == null)
                link.Refusal = error; // says why the close that follows it came
        }

        private void OnWelcome(Link link, Welcome welcome)
        {
            link.Welcome();
            Player = welcome.Player;
            _table.Viewer = welcome.Player.Id;
            _backoff.Reset();
            _kick = false;
            _heartbeat = TimeSpan.FromMilliseconds(welcome.HeartbeatMs);
            Clock.Welcomed(welcome.ServerTime, NowMs());
            if (link.Resumed != null && welcome.Session != link.Resumed.Session)
            {
                _table.Forget(); // the seat is gone: back to the lobby
                EmitState();
            }
            if (!_paused) StartLiveness(link);
            Emit(() => Welcomed?.Invoke(welcome));
            Emit(() => Connected?.Invoke());
            TaskCompletionSource<Link> ready = _ready;
            Later.Run(() => ready.TrySetResult(link)); // after the handlers were posted, so they are queued first
        }

        private void OnSync(Sync sync)
        {
            _table.Load(sync);
            Emit(() => Synced?.Invoke(sync));
            EmitState();
        }

        private void OnEvent(Link link, SessionEvent e)
        {
            long applied = _table.Seq;
            switch (_table.Offer(e))
            {
                case Verdict.Applied:
                    EmitEvent(e, _table.View);
                    break;
                case Verdict.Gap: // events were lost: a new socket resumes from the seq applied
                    link.Drop("seq " + e.Seq + " came after " + applied + ": resuming from " + applied);
                    break;
            }
        }
    }
}
