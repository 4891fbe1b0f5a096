// Runs MaratangBehaviour as the Editor and desktop builds have it (the core's ClientWebSocketTransport)
// against a real server, outside Unity: the stubbed MonoBehaviour is a plain object, so this
// program plays the engine's part — it sets the serialized field, sends the Unity messages by
// reflection and calls Update once a frame. It prints one line per check and exits 1 on the first
// that fails.
using System;
using System.Reflection;
using System.Threading;
using System.Threading.Tasks;
using Maratang;
using Maratang.Protocol;
using Maratang.Unity;

public static class LayerRun
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private static MaratangBehaviour _behaviour;
    private static int _mainThread;
    private static bool _inUpdate;
    private static int _outsideUpdate;
    private static bool _destroyed;

    public static int Main(string[] args)
    {
        _mainThread = Thread.CurrentThread.ManagedThreadId;
        _behaviour = new MaratangBehaviour();
        typeof(MaratangBehaviour).GetField("server", BindingFlags.NonPublic | BindingFlags.Instance).SetValue(_behaviour, args[0]);
        try
        {
            Play();
            Console.WriteLine("ok");
            return 0;
        }
        catch (Exception e)
        {
            Console.WriteLine("failed: " + e);
            return 1;
        }
    }

    private static void Play()
    {
        MaratangClient client = _behaviour.Client;
        Check(client != null && client == _behaviour.Client, "the client was made once, for the configured server");
        RoundStarted started = null;
        RoundResolved resolved = null;
        client.RoundStarted += round => started = Handled(round);
        client.RoundResolved += round => resolved = Handled(round);
        NarrationPacer narration = _behaviour.Narration;
        int paced = 0;
        narration.Changed += () => paced += Handled(1);

        Await(_behaviour.SignInAsync("민지"));
        Await(client.ConnectAsync());
        Ack ack = Await(client.CreateTableAsync(new Settings { Rounds = 1, Seconds = 60 }));
        Check(ack.Code.Length == Wire.CodeLength, "a table was opened: " + ack.Code);
        Await(client.StartAsync());
        Until(() => started != null, "round.started reached its handler");
        Until(() => narration.Kind == "entrance" && narration.Complete, "the entrance was told to its end at reading pace");
        Check(narration.Shown == client.State.Narration.Text, "all of the entrance was shown");
        Check(paced > narration.Shown.Length / 3, "it was shown a little at a time (" + paced + " steps)");

        Send("OnApplicationPause", true);
        Send("OnApplicationPause", false);
        Await(client.SubmitBowlAsync(1, new[] { "bok_choy", "enoki", "beef" }, 2));
        Until(() => resolved != null, "round.resolved reached its handler after a pause and resume");
        Check(resolved.Results[0].Score > 0, "the bowl was scored");
        Check(_outsideUpdate == 0, "every handler ran inside Update, on the main thread");

        Send("OnDestroy");
        _destroyed = true;
        Until(() => !client.IsConnected, "OnDestroy disposed the client");
        bool refused = false;
        try
        {
            _ = _behaviour.Client;
        }
        catch (ObjectDisposedException)
        {
            refused = true;
        }
        Check(refused, "no client after OnDestroy");
    }

    private static T Handled<T>(T value)
    {
        if (!_inUpdate || Thread.CurrentThread.ManagedThreadId != _mainThread) _outsideUpdate++;
        return value;
    }

    /// <summary>One frame: the engine calls Update (until the component is destroyed).</summary>
    private static void Frame()
    {
        _inUpdate = true;
        if (!_destroyed) Send("Update");
        _inUpdate = false;
        Thread.Sleep(10); // the frame's length: a game loop at 100 frames a second
    }

    private static void Until(Func<bool> condition, string what)
    {
        DateTime deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException(what);
            Frame();
        }
        Console.WriteLine(what);
    }

    private static void Await(Task task)
    {
        Until(() => task.IsCompleted, "completed: " + task.GetType().Name);
        task.GetAwaiter().GetResult();
    }

    private static T Await<T>(Task<T> task)
    {
        Await((Task)task);
        return task.Result;
    }

    private static void Check(bool condition, string what)
    {
        if (!condition) throw new Exception("not so: " + what);
        Console.WriteLine(what);
    }

    private static void Send(string message, params object[] arguments)
    {
        typeof(MaratangBehaviour).GetMethod(message, BindingFlags.NonPublic | BindingFlags.Instance).Invoke(_behaviour, arguments);
    }
}
