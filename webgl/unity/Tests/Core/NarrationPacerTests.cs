using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using NUnit.Framework;

namespace Maratang.Tests
{
    /// <summary>The narration's reading pace on a clock only the test moves, a frame at a time.</summary>
    [TestFixture]
    public class NarrationPacerTests
    {
        private static readonly TimeSpan Frame = TimeSpan.FromMilliseconds(16);
        private const string Ko = "딸랑, 문이 열리고 손님이 들어옵니다. ";

        private TimeSpan _now;
        private NarrationPacer _pacer;
        private List<int> _seen;

        [SetUp]
        public void MakePacer()
        {
            _now = TimeSpan.Zero;
            _pacer = Paced(new NarrationPaceOptions());
        }

        private NarrationPacer Paced(NarrationPaceOptions options)
        {
            options.Clock = () => _now;
            _seen = new List<int>();
            return _pacer = new NarrationPacer(options);
        }

        /// <summary>Frames for <paramref name="ms"/>, as a game's Update runs them.</summary>
        private void Frames(double ms)
        {
            TimeSpan until = _now + TimeSpan.FromMilliseconds(ms);
            while (_now < until)
            {
                _now = _now + Frame < until ? _now + Frame : until;
                _pacer.Update();
                _seen.Add(_pacer.Shown.Length);
            }
        }

        private static string Text(int n)
        {
            var text = new StringBuilder();
            while (text.Length < n) text.Append(Ko);
            return text.ToString(0, n);
        }

        private static int BiggestStep(IList<int> lengths)
        {
            return lengths.Skip(1).Select((length, i) => length - lengths[i]).DefaultIfEmpty(0).Max();
        }

        [Test]
        public void TheDefaultsAre30CharactersASecondA15SecondCatchUpAndA12SecondStall()
        {
            var options = new NarrationPaceOptions();
            Assert.AreEqual(30.0, options.CharactersPerSecond);
            Assert.AreEqual(TimeSpan.FromSeconds(1.5), options.CatchUp);
            Assert.AreEqual(TimeSpan.FromSeconds(1.2), options.StallAfter);
        }

        [Test]
        public void TextReceivedShowsAtTheBaseRate()
        {
            _pacer.Receive("r1.entrance", "entrance", Text(40));
            Frames(500);
            Assert.That(_pacer.Shown.Length, Is.InRange(14, 16));
            Assert.LessOrEqual(BiggestStep(_seen), 1);
            Frames(900);
            Assert.AreEqual(Text(40), _pacer.Shown);
        }

        [Test]
        public void TheShownTextNeverRunsAheadOfWhatWasReceived()
        {
            string received = "";
            for (int i = 0; i < 40; i++)
            {
                received = Text(received.Length + 2);
                _pacer.Receive("r1.entrance", "entrance", received);
                Frames(200);
                StringAssert.StartsWith(_pacer.Shown, received);
            }
            Assert.AreEqual(received, _pacer.Shown, "it keeps up with slow text");
        }

        [Test]
        public void ABurstAfterAStallIsDrainedFasterThanTheBaseRateButSmoothly()
        {
            _pacer.Receive("r1.entrance", "entrance", Text(10));
            Frames(2000);
            int from = _seen.Count - 1;
            _pacer.Receive("r1.entrance", "entrance", Text(160));
            Frames(100);
            Assert.Less(_pacer.Shown.Length, 30, "the burst was not dumped");
            Frames(900);
            Assert.Greater(_pacer.Shown.Length, 70, "faster than 30 a second");
            Frames(2600);
            Assert.AreEqual(160, _pacer.Shown.Length, "caught up within about 3.5 s");
            Assert.LessOrEqual(BiggestStep(_seen.Skip(from).ToList()), 2);
        }

        [Test]
        public void TextComingFasterThanReadingIsShownWithinAboutTheCatchUpTime()
        {
            string received = "";
            for (int i = 0; i < 20; i++)
            {
                received = Text(received.Length + 60);
                _pacer.Receive("r1.entrance", "entrance", received);
                Frames(500);
                Assert.LessOrEqual(received.Length - _pacer.Shown.Length, 120 * 1.5 + 60);
            }
        }

        [Test]
        public void AStallIsFlaggedAfterItsTimeAndEndsWhenTextArrives()
        {
            var flags = new List<bool>();
            _pacer.StalledChanged += flags.Add;
            _pacer.Receive("r1.entrance", "entrance", Text(6));
            Frames(300);
            Assert.AreEqual(6, _pacer.Shown.Length);
            Frames(800);
            Assert.IsFalse(_pacer.Stalled, "not yet");
            Frames(600);
            Assert.IsTrue(_pacer.Stalled);
            _pacer.Receive("r1.entrance", "entrance", Text(12));
            Assert.IsFalse(_pacer.Stalled, "new text ends it at once");
            Frames(400);
            _pacer.Receive("r1.entrance", "entrance", Text(12), "llm");
            Frames(5000);
            Assert.IsFalse(_pacer.Stalled, "an ended narration never stalls");
            Assert.IsTrue(_pacer.Complete);
            CollectionAssert.AreEqual(new[] { true, false }, flags);
        }

        [Test]
        public void ALongBacklogIsNotAStall()
        {
            Paced(new NarrationPaceOptions { CharactersPerSecond = 5, CatchUp = TimeSpan.FromMinutes(1) });
            bool stalled = false;
            _pacer.StalledChanged += value => stalled |= value;
            _pacer.Receive("r1.entrance", "entrance", Text(30));
            Frames(5000);
            Assert.Less(_pacer.Shown.Length, 30);
            Assert.IsFalse(stalled);
        }

        [Test]
        public void TheEndReplacesTheBufferAndShowingGoesOnAtPace()
        {
            int changes = 0;
            _pacer.Changed += () => changes++;
            _pacer.Receive("r1.entrance", "entrance", Text(30));
            Frames(300);
            int before = _pacer.Shown.Length;
            Assert.That(before, Is.InRange(6, 14));
            _pacer.Receive("r1.entrance", null, Text(120), "llm");
            Assert.AreEqual(before, _pacer.Shown.Length, "nothing jumps when the end arrives");
            Assert.IsFalse(_pacer.Complete);
            Assert.IsNull(_pacer.Source, "the source shows once the text is all shown");
            Frames(4000);
            Assert.AreEqual(Text(120), _pacer.Shown);
            Assert.IsTrue(_pacer.Complete);
            Assert.AreEqual("llm", _pacer.Source);
            Assert.AreEqual("entrance", _pacer.Kind);
            int settled = changes;
            Frames(1000);
            Assert.AreEqual(settled, changes, "nothing changes once complete");
        }

        [Test]
        public void AnEndThatDiffersFromWhatWasShownKeepsOnlyTheCommonStart()
        {
            _pacer.Receive("r1.entrance", "entrance", "딸랑, 문이 열리고");
            Frames(2000);
            _pacer.Receive("r1.entrance", "entrance", "딸랑, 문이 닫히고 …", "mixed");
            Assert.AreEqual("딸랑, 문이 ", _pacer.Shown);
            Frames(2000);
            Assert.AreEqual("딸랑, 문이 닫히고 …", _pacer.Shown);
        }

        [Test]
        public void AShorterTextThanWasReceivedChangesNothing()
        {
            _pacer.Receive("r1.entrance", "entrance", Text(20));
            _pacer.Reveal();
            _pacer.Receive("r1.entrance", "entrance", Text(12));
            Frames(500);
            Assert.AreEqual(Text(20), _pacer.Shown);
        }

        [Test]
        public void TextToldWhileThePlayerWasAwayShowsAtOnce()
        {
            var told = new Protocol.NarrationView { Nid = "r2.tasting", Kind = "tasting", Text = Text(90) };
            _pacer.Follow(told, atOnce: true);
            Assert.AreEqual(Text(90), _pacer.Shown);
            told.Text = Text(150);
            _pacer.Follow(told);
            Frames(200);
            Assert.That(_pacer.Shown.Length, Is.InRange(91, 109));
        }

        [Test]
        public void ANarrationThatStartsBeforeTheLastIsShownWaitsForIt()
        {
            _pacer.Receive("r1.tasting", "tasting", Text(60), "llm");
            Frames(500);
            _pacer.Receive("r2.entrance", "entrance", "");
            _pacer.Receive("r2.entrance", null, "새 손님");
            Assert.AreEqual("r1.tasting", _pacer.Nid);
            Frames(2500);
            Assert.AreEqual("r2.entrance", _pacer.Nid);
            Assert.AreEqual("entrance", _pacer.Kind);
            Assert.AreEqual("새 손님", _pacer.Shown);
        }

        [Test]
        public void ClearingShowsNothing()
        {
            _pacer.Receive("r1.entrance", "entrance", Text(10));
            _pacer.Clear();
            Assert.AreEqual("", _pacer.Shown);
            Assert.IsNull(_pacer.Nid);
            Assert.IsFalse(_pacer.Update());
        }

        [TestCase("😀🍜🌶️👩‍🍳", TestName = "SurrogatePairsAndEmojiSequencesAreNeverCut")]
        [TestCase("한국 국물", TestName = "DecomposedHangulSyllablesAreNeverCut")]
        public void CharactersAreNeverCut(string piece)
        {
            string text = string.Concat(Enumerable.Repeat(piece.Normalize(NormalizationForm.FormD), 5));
            Paced(new NarrationPaceOptions { CharactersPerSecond = 20 });
            _pacer.Receive("r1.entrance", "entrance", text);
            var seen = new List<string>();
            _pacer.Changed += () => seen.Add(_pacer.Shown);
            Frames(6000);
            Assert.AreEqual(text, _pacer.Shown);
            Assert.Greater(seen.Count, 10);
            foreach (string shown in seen.Where(each => each.Length > 0))
            {
                Assert.IsFalse(char.IsHighSurrogate(shown[shown.Length - 1]), "half a surrogate pair: " + shown);
                string rest = text.Substring(shown.Length);
                if (rest.Length == 0) continue;
                UnicodeCategory next = CharUnicodeInfo.GetUnicodeCategory(rest, 0);
                Assert.AreNotEqual(UnicodeCategory.NonSpacingMark, next, "a mark cut from its letter");
                Assert.IsFalse(rest[0] >= '\u1160' && rest[0] <= '\u11FF', "a syllable cut after its first jamo");
                Assert.IsFalse(rest[0] == '\u200D' || shown[shown.Length - 1] == '\u200D', "a ZWJ sequence cut");
            }
        }

        [Test]
        public void AnEmojiIsReadAtThePaceOfALetter()
        {
            _pacer.Receive("r1.entrance", "entrance", string.Concat(Enumerable.Repeat("🍜", 30)));
            Frames(500);
            Assert.That(new StringInfo(_pacer.Shown).LengthInTextElements, Is.InRange(14, 16));
        }

        [Test]
        public void ADecomposedSyllableIsReadAtThePaceOfOne()
        {
            string syllables = string.Concat(Enumerable.Repeat("국", 30)).Normalize(NormalizationForm.FormD);
            _pacer.Receive("r1.entrance", "entrance", syllables);
            Frames(500);
            Assert.That(_pacer.Shown.Normalize(NormalizationForm.FormC).Length, Is.InRange(14, 16));
        }
    }
}
