using System;
using System.Collections.Generic;
using Maratang.Protocol;

namespace Maratang
{
    /// <summary>
    /// The narration at a reading pace. The server sends a narration as it is told, and a model
    /// tells it in bursts: a stall, then many words at once. The pacer shows what was received
    /// at a steady rate instead (<see cref="NarrationPaceOptions.CharactersPerSecond"/>), drains
    /// a burst faster but smoothly (the reader is never more than about
    /// <see cref="NarrationPaceOptions.CatchUp"/> behind), and says when the story stalls
    /// (<see cref="Stalled"/>: show "…"). Text told while the player was away (a <c>sync</c>,
    /// the missed events of a resume) is shown at once. This is the client's choice, not a server
    /// guarantee; the client's raw narration events stay as they are.
    /// <code>
    /// var pacer = new NarrationPacer(client);   // or MaratangBehaviour.Narration
    /// void Update()
    /// {
    ///     pacer.Update();
    ///     subtitle.text = pacer.Shown;
    ///     thinking.SetActive(pacer.Stalled);   // "이야기꾼이 생각하는 중…": Strings key narrationStalled
    /// }
    /// </code>
    /// Use it on the game's thread (where the client's handlers run). The browser client's pacer
    /// (<c>webgl/js/pacer.js</c>) behaves the same.
    /// </summary>
    public sealed class NarrationPacer : IDisposable
    {
        private sealed class Told
        {
            public string Nid;
            public string Kind;
            public string Text = "";
            public string Source;
            public bool Ended;
        }

        /// <summary>What a reader sees, to tell whether an update changed it.</summary>
        private struct Look
        {
            public Told Told;
            public int Shown;
            public bool Stalled;
            public bool Complete;

            public bool Same(Look other)
            {
                return Told == other.Told && Shown == other.Shown && Stalled == other.Stalled && Complete == other.Complete;
            }
        }

        private readonly NarrationPaceOptions _options;
        private readonly Func<TimeSpan> _clock;
        /// <summary>The narration being shown first, then any that started before it was shown in full.</summary>
        private readonly List<Told> _told = new List<Told>();
        private MaratangClient _client;
        private int _shown;
        private int _left;
        private double _credit;
        private TimeSpan _last;
        private TimeSpan _waitingSince;
        private TimeSpan _missedUntil = TimeSpan.MinValue;
        private bool _stalled;

        /// <summary>A pacer fed by the game (<see cref="Receive"/>, <see cref="Follow"/>).</summary>
        public NarrationPacer(NarrationPaceOptions options = null)
        {
            _options = options ?? new NarrationPaceOptions();
            _clock = _options.ClockOrDefault();
        }

        /// <summary>A pacer that follows <paramref name="client"/>'s narration: its start, delta and
        /// end events, a sync (shown at once) and a resumed welcome (the missed text shown at once).</summary>
        public NarrationPacer(MaratangClient client, NarrationPaceOptions options = null) : this(options)
        {
            _client = client ?? throw new ArgumentNullException(nameof(client));
            Follow(client.State?.Narration, atOnce: true); // told before this pacer existed
            _client.NarrationStarted += OnStarted;
            _client.NarrationDelta += OnDelta;
            _client.NarrationEnded += OnEnded;
            _client.Synced += OnSynced;
            _client.Welcomed += OnWelcomed;
            _client.StateChanged += OnStateChanged;
        }

        /// <summary>What is shown changed: the text, the stall, the narration, or it became complete.</summary>
        public event Action Changed;

        /// <summary><see cref="Stalled"/> changed (true: show "…"; false: hide it).</summary>
        public event Action<bool> StalledChanged;

        public string Nid => Current?.Nid;

        public string Kind => Current?.Kind;

        /// <summary>The text to show now: a prefix of what was received, cut between characters.</summary>
        public string Shown => Current == null ? "" : Current.Text.Substring(0, _shown);

        /// <summary>Who told the narration, once it is <see cref="Complete"/> (else null).</summary>
        public string Source => Complete ? Current.Source : null;

        /// <summary>The narration ended and all of it is shown.</summary>
        public bool Complete => Current != null && Current.Ended && _shown == Current.Text.Length && _told.Count == 1;

        /// <summary>Streaming, everything received shown, nothing new for <see cref="NarrationPaceOptions.StallAfter"/>.</summary>
        public bool Stalled => _stalled;

        private Told Current => _told.Count > 0 ? _told[0] : null;

        // What was received ---------------------------------------------------------------------

        /// <summary>Narration <paramref name="nid"/> has told <paramref name="text"/> so far
        /// (<paramref name="source"/> once it ended: then the text is all of it). A shorter text
        /// than was received before is old news and changes nothing; only the end may replace the
        /// text with another.</summary>
        public void Receive(string nid, string kind, string text, string source = null)
        {
            Act(() => Take(nid, kind, text, source));
        }

        /// <summary>Follow the table's narration (null: none). <paramref name="atOnce"/>: its text
        /// was told while this player was away, so it is shown at once.</summary>
        public void Follow(NarrationView narration, bool atOnce = false)
        {
            Act(() =>
            {
                if (narration == null) Forget();
                else Take(narration.Nid, narration.Kind, narration.Text, narration.Source);
                if (atOnce) ShowAll();
            });
        }

        /// <summary>Show everything received at once; only what arrives after is paced.</summary>
        public void Reveal()
        {
            Act(ShowAll);
        }

        public void Clear()
        {
            Act(Forget);
        }

        // Time ----------------------------------------------------------------------------------

        /// <summary>Move on to now; call it every frame. True when what is shown changed.</summary>
        public bool Update()
        {
            Look before = Looks();
            TimeSpan now = _clock();
            if (_left > 0) Advance(now);
            else _last = now;
            Settle(now);
            return Announce(before);
        }

        public void Dispose()
        {
            if (_client == null) return;
            _client.NarrationStarted -= OnStarted;
            _client.NarrationDelta -= OnDelta;
            _client.NarrationEnded -= OnEnded;
            _client.Synced -= OnSynced;
            _client.Welcomed -= OnWelcomed;
            _client.StateChanged -= OnStateChanged;
            _client = null;
        }

        // The client's events -------------------------------------------------------------------

        private void OnStarted(NarrationStart started)
        {
            Heard(started.Nid, started.Kind, "", null);
        }

        private void OnDelta(string nid, string piece, string soFar)
        {
            Heard(nid, null, soFar, null);
        }

        private void OnEnded(string nid, string text, string source)
        {
            Heard(nid, null, text, source);
        }

        private void OnSynced(Sync sync)
        {
            Follow(sync.State?.Narration, atOnce: true);
        }

        private void OnWelcomed(Welcome welcome)
        {
            if (welcome.Session != null) _missedUntil = _clock() + _options.ResumeWindow;
        }

        private void OnStateChanged(TableView view)
        {
            if (view == null) Clear(); // the table was left
        }

        private void Heard(string nid, string kind, string text, string source)
        {
            Act(() =>
            {
                Take(nid, kind, text, source);
                if (_clock() < _missedUntil) ShowAll();
            });
        }

        // The machine ---------------------------------------------------------------------------

        private void Act(Action change)
        {
            Look before = Looks();
            change();
            Announce(before);
        }

        private Look Looks()
        {
            return new Look { Told = Current, Shown = _shown, Stalled = _stalled, Complete = Complete };
        }

        private bool Announce(Look before)
        {
            Look after = Looks();
            if (after.Stalled != before.Stalled) StalledChanged?.Invoke(after.Stalled);
            if (after.Same(before)) return false;
            Changed?.Invoke();
            return true;
        }

        private void Take(string nid, string kind, string text, string source)
        {
            TimeSpan now = _clock();
            text = text ?? "";
            Told told = _told.Find(each => each.Nid == nid) ?? Begin(nid, kind, now);
            if (told.Kind == null) told.Kind = kind;
            if (told.Text != text && (source != null || !told.Text.StartsWith(text, StringComparison.Ordinal)))
            {
                if (told == Current) Replace(text, now);
                else told.Text = text;
            }
            if (source != null)
            {
                told.Source = source;
                told.Ended = true;
            }
            Settle(now);
        }

        private Told Begin(string nid, string kind, TimeSpan now)
        {
            if (_told.Count > 0) _told[_told.Count - 1].Ended = true; // a new one started: nothing more of it comes
            var told = new Told { Nid = nid, Kind = kind };
            _told.Add(told);
            if (_told.Count == 1) Restart(now);
            return told;
        }

        private void Replace(string text, TimeSpan now)
        {
            Told told = Current;
            string shown = told.Text.Substring(0, _shown);
            if (!text.StartsWith(shown, StringComparison.Ordinal))
                _shown = Characters.BoundaryAtOrBefore(text, SharedPrefix(text, shown));
            bool idle = _left == 0;
            told.Text = text;
            _left = Characters.CountFrom(text, _shown);
            if (idle) _last = now; // the pace starts now, not when the text ran out
        }

        private void ShowAll()
        {
            _told.RemoveRange(0, Math.Max(0, _told.Count - 1));
            if (Current == null) return;
            TimeSpan now = _clock();
            _shown = Current.Text.Length;
            CaughtUp(now);
            Settle(now);
        }

        private void Forget()
        {
            _told.Clear();
            _shown = 0;
            _left = 0;
            _stalled = false;
        }

        private void Advance(TimeSpan now)
        {
            double seconds = Math.Max(0, (now - _last).TotalSeconds);
            _last = now;
            double rate = Math.Max(_options.CharactersPerSecond, _left / _options.CatchUp.TotalSeconds);
            _credit += rate * seconds;
            int steps = (int)Math.Min(_left, Math.Floor(_credit));
            string text = Current.Text;
            for (int i = 0; i < steps; i++) _shown = Characters.Next(text, _shown);
            _credit -= steps;
            _left -= steps;
            if (_left == 0) CaughtUp(now);
        }

        /// <summary>Everything received is shown: no credit is saved up for a burst, and a stall may begin.</summary>
        private void CaughtUp(TimeSpan now)
        {
            _left = 0;
            _credit = 0;
            _waitingSince = now;
        }

        private void Restart(TimeSpan now)
        {
            _shown = 0;
            _left = Characters.CountFrom(Current.Text, 0);
            _credit = 0;
            _last = now;
            _waitingSince = now;
        }

        /// <summary>Go on to the next narration once this one is shown in full; update the stall.</summary>
        private void Settle(TimeSpan now)
        {
            while (_told.Count > 1 && _left == 0 && _shown == Current.Text.Length)
            {
                _told.RemoveAt(0);
                Restart(now);
            }
            Told told = Current;
            _stalled = told != null && !told.Ended && _left == 0 && now - _waitingSince >= _options.StallAfter;
        }

        private static int SharedPrefix(string a, string b)
        {
            int i = 0;
            while (i < a.Length && i < b.Length && a[i] == b[i]) i++;
            return i;
        }
    }
}
