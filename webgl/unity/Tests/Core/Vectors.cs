using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Newtonsoft.Json.Linq;

namespace Maratang.Tests
{
    /// <summary>
    /// The protocol's vector files: from <c>MARATANG_PROTOCOL_DIR</c>, or the <c>protocol/</c>
    /// folder of the checkout these tests run in (found upwards from the working directory).
    /// </summary>
    internal static class Vectors
    {
        public static IEnumerable<JObject> Load(string file)
        {
            string path = Path.Combine(ProtocolDir(), "vectors", file);
            return JObject.Parse(File.ReadAllText(path))["vectors"].Cast<JObject>();
        }

        /// <summary>A copy of <paramref name="value"/> without the fields whose value is null, at every depth.</summary>
        public static JToken WithoutNulls(JToken value)
        {
            var obj = value as JObject;
            if (obj != null)
                return new JObject(obj.Properties()
                    .Where(p => p.Value.Type != JTokenType.Null)
                    .Select(p => new JProperty(p.Name, WithoutNulls(p.Value))));
            var list = value as JArray;
            return list != null ? new JArray(list.Select(WithoutNulls)) : value.DeepClone();
        }

        /// <summary>
        /// Deep equality of JSON values, where a whole float equals the integer of the same value:
        /// <c>ts</c> is a JSON number (C# <c>double</c>), so 1764140000123 may come back as
        /// 1764140000123.0. Integer fields are <c>long</c> in C# and are never written as floats.
        /// </summary>
        public static bool SameJson(JToken a, JToken b)
        {
            if (IsNumber(a) && IsNumber(b) && a.Type != b.Type) return (double)a == (double)b;
            if (a.Type != b.Type) return false;
            var objA = a as JObject;
            if (objA != null)
            {
                var objB = (JObject)b;
                return objA.Count == objB.Count && objA.Properties().All(p => objB[p.Name] != null && SameJson(p.Value, objB[p.Name]));
            }
            var listA = a as JArray;
            if (listA != null)
            {
                var listB = (JArray)b;
                return listA.Count == listB.Count && listA.Zip(listB, SameJson).All(same => same);
            }
            return JToken.DeepEquals(a, b);
        }

        private static bool IsNumber(JToken token)
        {
            return token.Type == JTokenType.Integer || token.Type == JTokenType.Float;
        }

        private static string ProtocolDir()
        {
            string given = Environment.GetEnvironmentVariable("MARATANG_PROTOCOL_DIR");
            if (!string.IsNullOrEmpty(given)) return given;
            for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir != null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "protocol", "vectors");
                if (Directory.Exists(candidate)) return Path.GetDirectoryName(candidate);
            }
            throw new DirectoryNotFoundException("protocol/vectors not found: set MARATANG_PROTOCOL_DIR");
        }
    }
}
