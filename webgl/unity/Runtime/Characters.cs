using System.Globalization;

namespace Maratang
{
    /// <summary>
    /// Where a visible character ends in a string, so that paced text never shows half of one:
    /// a character is one code point (a surrogate pair is one), with the combining marks, the
    /// vowel and final jamo of a decomposed Hangul syllable and the ZWJ-joined code points after
    /// it. The browser client's pacer (<c>webgl/js/pacer.js</c>) cuts text at the same places.
    /// </summary>
    internal static class Characters
    {
        private const char Zwj = '\u200D';

        /// <summary>The index just past the character that starts at <paramref name="i"/>.</summary>
        public static int Next(string text, int i)
        {
            int j = CodePointEnd(text, i);
            while (j < text.Length)
            {
                if (text[j] == Zwj) j = j + 1 < text.Length ? CodePointEnd(text, j + 1) : j + 1;
                else if (JoinsPrevious(text, j)) j = CodePointEnd(text, j);
                else break;
            }
            return j;
        }

        /// <summary>How many characters <paramref name="text"/> has from index <paramref name="i"/> on.</summary>
        public static int CountFrom(string text, int i)
        {
            int count = 0;
            for (int j = i; j < text.Length; j = Next(text, j)) count++;
            return count;
        }

        /// <summary>The last character boundary of <paramref name="text"/> at or before <paramref name="limit"/>.</summary>
        public static int BoundaryAtOrBefore(string text, int limit)
        {
            int i = 0;
            while (i < text.Length)
            {
                int next = Next(text, i);
                if (next > limit) break;
                i = next;
            }
            return i;
        }

        private static int CodePointEnd(string text, int i)
        {
            return i + (char.IsSurrogatePair(text, i) ? 2 : 1);
        }

        private static bool JoinsPrevious(string text, int i)
        {
            char c = text[i];
            if ((c >= '\u1160' && c <= '\u11FF') || (c >= '\uD7B0' && c <= '\uD7FF')) return true;
            UnicodeCategory category = CharUnicodeInfo.GetUnicodeCategory(text, i);
            return category == UnicodeCategory.NonSpacingMark || category == UnicodeCategory.SpacingCombiningMark
                || category == UnicodeCategory.EnclosingMark;
        }
    }
}
