using System;
using System.IO;
using Maratang.Protocol;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Maratang
{
    /// <summary>
    /// The <c>maratang.v1.json</c> codec: one message per text frame. The SDK speaks JSON only:
    /// it is what a WebGL build's browser WebSocket carries as text with nothing added, and
    /// Unity's own Newtonsoft package reads it on every platform, so no MessagePack library has
    /// to ship (or be trusted under IL2CPP) for a few bytes per frame. Integers stay integers
    /// (read as <c>long</c>, never through a float: a server time or deadline keeps every digit),
    /// absent fields stay absent (nulls are never written), and strings are never taken for dates.
    /// </summary>
    public static class JsonCodec
    {
        public static readonly JsonSerializerSettings Settings = new JsonSerializerSettings
        {
            NullValueHandling = NullValueHandling.Ignore,
            FloatParseHandling = FloatParseHandling.Double,
            DateParseHandling = DateParseHandling.None,
        };

        private static readonly JsonSerializer Serializer = JsonSerializer.Create(Settings);

        public static string Encode(object message)
        {
            return JsonConvert.SerializeObject(message, Formatting.None, Settings);
        }

        /// <summary>The frame as a JSON object; <see cref="FormatException"/> when it is not one.</summary>
        public static JObject Parse(string text)
        {
            using (var reader = new JsonTextReader(new StringReader(text)))
            {
                reader.FloatParseHandling = FloatParseHandling.Double;
                reader.DateParseHandling = DateParseHandling.None;
                var obj = JToken.ReadFrom(reader) as JObject;
                if (obj == null) throw new FormatException("a frame must be a JSON object");
                return obj;
            }
        }

        public static T ToObject<T>(JToken token)
        {
            return token.ToObject<T>(Serializer);
        }

        /// <summary>
        /// A server frame as its typed message; a session event of a type this SDK does not know
        /// as an <see cref="UnknownEvent"/> (its seq still counts); null for an unknown reply.
        /// </summary>
        public static Message DecodeServer(string text)
        {
            JObject frame = Parse(text);
            string type = Text(frame, "t") ?? throw new FormatException("a frame needs a string t");
            Type shape;
            if (Messages.Server.TryGetValue(type, out shape)) return (Message)frame.ToObject(shape, Serializer);
            string session = Text(frame, "session");
            JValue seq = frame["seq"] as JValue;
            if (session == null || seq == null || seq.Type != JTokenType.Integer) return null;
            return new UnknownEvent(type) { Session = session, Seq = (long)seq };
        }

        private static string Text(JObject frame, string key)
        {
            JValue value = frame[key] as JValue;
            return value != null && value.Type == JTokenType.String ? (string)value : null;
        }
    }

    /// <summary>A session event newer than this SDK: it changes nothing, but its seq counts.</summary>
    public sealed class UnknownEvent : SessionEvent
    {
        private readonly string _type;

        public UnknownEvent(string type)
        {
            _type = type;
        }

        public override string T => _type;
    }
}
