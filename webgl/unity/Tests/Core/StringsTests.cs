using System;
using System.Linq;
using NUnit.Framework;

namespace Maratang.Tests
{
    [TestFixture]
    public class StringsTests
    {
        [Test]
        public void BothLanguagesHaveTheSameKeys()
        {
            var korean = Strings.For("ko").Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
            var english = Strings.For("en").Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
            Assert.IsTrue(korean.Count > 50, "too few keys: " + korean.Count);
            CollectionAssert.AreEqual(korean, english);
        }

        [Test]
        public void NestedKeysArePathsAndPlaceholdersAreFilled()
        {
            Strings korean = Strings.For("ko");
            Assert.AreEqual("테이블이 가득 찼어요", korean["errors.session_full"]);
            Assert.AreEqual("라운드 2 결과", korean.Format("resultsTitle", "n", 2));
            Assert.AreEqual("Round 2 results", Strings.For("en").Format("resultsTitle", "n", 2));
        }

        [Test]
        public void AMissingKeyShowsItselfAndAnUnknownErrorHasText()
        {
            Strings english = Strings.For("en");
            Assert.AreEqual("no.such.key", english["no.such.key"]);
            Assert.AreEqual(english["errors.unknown"], english.Error("no_such_code"));
            Assert.AreEqual(english["errors.session_full"], english.Error("session_full"));
        }

        [Test]
        public void AnUnknownLanguageIsRefused()
        {
            Assert.Throws<ArgumentException>(() => Strings.For("fr"));
        }
    }
}
