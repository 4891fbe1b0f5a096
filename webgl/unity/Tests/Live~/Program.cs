using System;
using System.Collections.Generic;
using Maratang.Protocol;
using static Maratang.Live.Harness;

namespace Maratang.Live
{
    /// <summary>
    /// Scenarios of the SDK against a real server, driven by <c>tests/webgl/test_csharp_sdk.py</c>:
    /// <c>Live.exe scenario http://server [ws://proxy/ws]</c>. Exit code 0 and a last line
    /// <c>{"at": "done"}</c> when every check held.
    /// </summary>
    internal static class Program
    {
        private static readonly Dictionary<string, Action<Uri, Uri>> Scenarios = new Dictionary<string, Action<Uri, Uri>>
        {
            { "game", Scenario.FullGame },
            { "cut", Scenario.CutMidNarration },
            { "zombie", Scenario.Zombie },
            { "terminal", Scenario.Terminal },
            { "pause", Scenario.Pause },
            { "transport", Scenario.Transport },
        };

        private static int Main(string[] args)
        {
            try
            {
                Scenarios[args[0]](new Uri(args[1]), args.Length > 2 ? new Uri(args[2]) : null);
                Say("done");
                return 0;
            }
            catch (Exception e)
            {
                Say("failed", new { error = e.ToString() });
                return 1;
            }
        }
    }
}
