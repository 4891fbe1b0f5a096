using System;
using System.Collections.Generic;
using System.Text.RegularExpressions;
using Newtonsoft.Json.Linq;

namespace Maratang
{
    /// <summary>
    /// The player-facing text of one language: the same locale files the browser page uses
    /// (<c>webgl/locales/</c>), so both clients say the same things. Keys are dotted paths,
    /// e.g. <c>errors.session_full</c>; values may hold <c>{name}</c> placeholders.
    /// <code>
    /// Strings text = Strings.For("ko");
    /// label.text = text.Format("resultsTitle", "n", 2);   // "라운드 2 결과"
    /// label.text = text.Error(refused.Code);              // "테이블이 가득 찼어요"
    /// </code>
    /// </summary>
    public sealed class Strings
    {
        /// <summary>The languages there is text for; Korean first.</summary>
        public static readonly IReadOnlyList<string> Langs = new[] { "ko", "en" };

        private static readonly Regex Placeholder = new Regex(@"\{(\w+)\}");
        private readonly Dictionary<string, string> _text = new Dictionary<string, string>();

        public string Lang { get; }

        private Strings(string lang, JObject root)
        {
            Lang = lang;
            Flatten(root, "");
        }

        /// <summary>The text of <paramref name="lang"/> (<c>ko</c> or <c>en</c>).</summary>
        public static Strings For(string lang)
        {
            string json;
            if (lang == null || !LocaleFiles.ByLang.TryGetValue(lang, out json))
                throw new ArgumentException("no text for language " + (lang ?? "null") + "; there is ko and en", nameof(lang));
            return new Strings(lang, JObject.Parse(json));
        }

        /// <summary>Every key, as dotted paths.</summary>
        public IEnumerable<string> Keys => _text.Keys;

        /// <summary>The text at <paramref name="key"/>, or the key itself when there is none (so a gap shows, rather than nothing).</summary>
        public string this[string key]
        {
            get
            {
                string value;
                return _text.TryGetValue(key, out value) ? value : key;
            }
        }

        /// <summary>The text at <paramref name="key"/> with its <c>{name}</c> placeholder filled in.</summary>
        public string Format(string key, string name, object value)
        {
            return Format(key, new Dictionary<string, object> { { name, value } });
        }

        /// <summary>The text at <paramref name="key"/> with its placeholders filled from <paramref name="values"/> (missing ones become empty).</summary>
        public string Format(string key, IDictionary<string, object> values)
        {
            return Placeholder.Replace(this[key], match =>
            {
                object value;
                return values.TryGetValue(match.Groups[1].Value, out value) && value != null ? value.ToString() : "";
            });
        }

        /// <summary>What to tell a player about an error code (<see cref="MaratangException.Code"/>).</summary>
        public string Error(string code)
        {
            string key = "errors." + code;
            return _text.ContainsKey(key) ? _text[key] : this["errors.unknown"];
        }

        private void Flatten(JObject node, string prefix)
        {
            foreach (JProperty property in node.Properties())
            {
                var child = property.Value as JObject;
                if (child != null) Flatten(child, prefix + property.Name + ".");
                else _text[prefix + property.Name] = (string)property.Value;
            }
        }
    }
}
