// Hand-written stand-in for Runtime/Generated/Protocol.g.cs until the generated file lands.
using System;
using System.Collections.Generic;
using Newtonsoft.Json;

namespace Maratang.Protocol
{
    public static class MessageType
    {
        public const string Hello = "hello", SessionCreate = "session.create", SessionJoin = "session.join",
            SessionLeave = "session.leave", SessionSettings = "session.settings", GameStart = "game.start",
            BowlSubmit = "bowl.submit", Ping = "ping", Welcome = "welcome", Ack = "ack", Error = "error",
            Pong = "pong", Sync = "sync", Bye = "bye", PlayerJoined = "player.joined", PlayerLeft = "player.left",
            PlayerAway = "player.away", PlayerBack = "player.back", HostChanged = "host.changed",
            SettingsChanged = "settings.changed", GameStarted = "game.started", RoundStarted = "round.started",
            BowlSubmitted = "bowl.submitted", RoundResolved = "round.resolved", NarrationStart = "narration.start",
            NarrationDelta = "narration.delta", NarrationEnd = "narration.end", GameOver = "game.over",
            SessionClosed = "session.closed";
    }

    public static class ErrorCode
    {
        public const string BadFrame = "bad_frame", UnknownType = "unknown_type", Invalid = "invalid",
            Unauthorized = "unauthorized", NotInSession = "not_in_session", NotHost = "not_host",
            WrongPhase = "wrong_phase", SessionNotFound = "session_not_found", SessionFull = "session_full",
            RateLimited = "rate_limited", TooLarge = "too_large", Busy = "busy", Internal = "internal";
        public static bool IsRetryable(string code) => code == RateLimited || code == Busy || code == Internal;
    }

    public static class CloseCode
    {
        public const int Normal = 1000, GoingAway = 1001, TooLarge = 1009, Internal = 1011, ServiceRestart = 1012,
            TryAgainLater = 1013, Unauthorized = 4401, SlowConsumer = 4408, Abuse = 4429;
        public static bool IsTerminal(int code) => code == Unauthorized || code == Abuse;
        public static bool IsResumable(int code) => code == GoingAway || code == Internal || code == ServiceRestart
            || code == TryAgainLater || code == SlowConsumer || code == 1006;
    }

    public static class Wire
    {
        public const string Protocol = "maratang.v1", JsonSubprotocol = "maratang.v1.json",
            MsgpackSubprotocol = "maratang.v1.msgpack";
        public const int MaxPlayers = 6, CodeLength = 6, RoundsMin = 1, RoundsMax = 10, SecondsMin = 15,
            SecondsMax = 120, SpiceMin = 0, SpiceMax = 4, BowlSizeMin = 3, BowlSizeMax = 6, NameLength = 16,
            MaxRidLength = 64;
        public const string CodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    }

    public abstract class Message { [JsonProperty("t")] public abstract string T { get; } }
    public abstract class Command : Message { [JsonProperty("rid")] public string Rid { get; set; } }
    public abstract class SessionEvent : Message
    {
        [JsonProperty("session")] public string Session { get; set; }
        [JsonProperty("seq")] public long Seq { get; set; }
    }

    public class PlayerView { [JsonProperty("id")] public string Id { get; set; } [JsonProperty("name")] public string Name { get; set; } }
    public class Settings
    {
        [JsonProperty("rounds")] public long? Rounds { get; set; }
        [JsonProperty("seconds")] public long? Seconds { get; set; }
        [JsonProperty("lang")] public string Lang { get; set; }
    }
    public class Bowl { [JsonProperty("ingredients")] public List<string> Ingredients { get; set; } [JsonProperty("spice")] public long Spice { get; set; } }
    public class CustomerView
    {
        [JsonProperty("id")] public string Id { get; set; }
        [JsonProperty("name")] public string Name { get; set; }
        [JsonProperty("story")] public string Story { get; set; }
        [JsonProperty("name_en")] public string NameEn { get; set; }
        [JsonProperty("story_en")] public string StoryEn { get; set; }
    }
    public class Points { [JsonProperty("rule")] public string Rule { get; set; } [JsonProperty("points")] public long Value { get; set; } }
    public class Result
    {
        [JsonProperty("player")] public string Player { get; set; }
        [JsonProperty("score")] public long Score { get; set; }
        [JsonProperty("place")] public long Place { get; set; }
        [JsonProperty("breakdown")] public List<Points> Breakdown { get; set; }
        [JsonProperty("bowl")] public Bowl Bowl { get; set; }
    }
    public class RankEntry
    {
        [JsonProperty("player")] public string Player { get; set; }
        [JsonProperty("name")] public string Name { get; set; }
        [JsonProperty("total")] public long Total { get; set; }
        [JsonProperty("place")] public long Place { get; set; }
    }
    public class SeatView
    {
        [JsonProperty("id")] public string Id { get; set; }
        [JsonProperty("name")] public string Name { get; set; }
        [JsonProperty("total")] public long Total { get; set; }
        [JsonProperty("away")] public bool Away { get; set; }
        [JsonProperty("submitted")] public bool Submitted { get; set; }
    }
    public class NarrationView
    {
        [JsonProperty("nid")] public string Nid { get; set; }
        [JsonProperty("kind")] public string Kind { get; set; }
        [JsonProperty("text")] public string Text { get; set; }
        [JsonProperty("source")] public string Source { get; set; }
    }
    public class TableView
    {
        [JsonProperty("code")] public string Code { get; set; }
        [JsonProperty("phase")] public string Phase { get; set; }
        [JsonProperty("settings")] public Settings Settings { get; set; }
        [JsonProperty("players")] public List<SeatView> Players { get; set; }
        [JsonProperty("round")] public long Round { get; set; }
        [JsonProperty("host")] public string Host { get; set; }
        [JsonProperty("customer")] public CustomerView Customer { get; set; }
        [JsonProperty("deadline")] public long? Deadline { get; set; }
        [JsonProperty("bowl")] public Bowl Bowl { get; set; }
        [JsonProperty("results")] public List<Result> Results { get; set; }
        [JsonProperty("narration")] public NarrationView Narration { get; set; }
        [JsonProperty("ranking")] public List<RankEntry> Ranking { get; set; }
        [JsonProperty("restored")] public bool? Restored { get; set; }
    }
    public class Resume { [JsonProperty("session")] public string Session { get; set; } [JsonProperty("seq")] public long Seq { get; set; } }

    public class Hello : Command
    {
        public override string T => MessageType.Hello;
        [JsonProperty("token")] public string Token { get; set; }
        [JsonProperty("resume")] public Resume Resume { get; set; }
    }
    public class SessionCreate : Command { public override string T => MessageType.SessionCreate; [JsonProperty("settings")] public Settings Settings { get; set; } }
    public class SessionJoin : Command { public override string T => MessageType.SessionJoin; [JsonProperty("code")] public string Code { get; set; } }
    public class SessionLeave : Command { public override string T => MessageType.SessionLeave; }
    public class SessionSettings : Command
    {
        public override string T => MessageType.SessionSettings;
        [JsonProperty("rounds")] public long? Rounds { get; set; }
        [JsonProperty("seconds")] public long? Seconds { get; set; }
        [JsonProperty("lang")] public string Lang { get; set; }
    }
    public class GameStart : Command { public override string T => MessageType.GameStart; }
    public class BowlSubmit : Command
    {
        public override string T => MessageType.BowlSubmit;
        [JsonProperty("round")] public long Round { get; set; }
        [JsonProperty("ingredients")] public List<string> Ingredients { get; set; }
        [JsonProperty("spice")] public long Spice { get; set; }
    }
    public class Ping : Command { public override string T => MessageType.Ping; [JsonProperty("ts")] public double Ts { get; set; } }

    public class Welcome : Message
    {
        public override string T => MessageType.Welcome;
        [JsonProperty("player")] public PlayerView Player { get; set; }
        [JsonProperty("heartbeat_ms")] public long HeartbeatMs { get; set; }
        [JsonProperty("server_time")] public long ServerTime { get; set; }
        [JsonProperty("session")] public string Session { get; set; }
    }
    public class Ack : Message
    {
        public override string T => MessageType.Ack;
        [JsonProperty("rid")] public string Rid { get; set; }
        [JsonProperty("session")] public string Session { get; set; }
        [JsonProperty("code")] public string Code { get; set; }
    }
    public class Error : Message
    {
        public override string T => MessageType.Error;
        [JsonProperty("code")] public string Code { get; set; }
        [JsonProperty("message")] public string Message { get; set; }
        [JsonProperty("retry")] public bool Retry { get; set; }
        [JsonProperty("rid")] public string Rid { get; set; }
        [JsonProperty("field")] public string Field { get; set; }
    }
    public class Pong : Message
    {
        public override string T => MessageType.Pong;
        [JsonProperty("ts")] public double Ts { get; set; }
        [JsonProperty("server_time")] public long ServerTime { get; set; }
        [JsonProperty("rid")] public string Rid { get; set; }
    }
    public class Sync : Message
    {
        public override string T => MessageType.Sync;
        [JsonProperty("session")] public string Session { get; set; }
        [JsonProperty("seq")] public long Seq { get; set; }
        [JsonProperty("state")] public TableView State { get; set; }
    }
    public class Bye : Message
    {
        public override string T => MessageType.Bye;
        [JsonProperty("reason")] public string Reason { get; set; }
        [JsonProperty("retry_ms")] public long RetryMs { get; set; }
    }

    public class PlayerJoined : SessionEvent { public override string T => MessageType.PlayerJoined; [JsonProperty("player")] public PlayerView Player { get; set; } }
    public class PlayerLeft : SessionEvent
    {
        public override string T => MessageType.PlayerLeft;
        [JsonProperty("player")] public string Player { get; set; }
        [JsonProperty("reason")] public string Reason { get; set; }
    }
    public class PlayerAway : SessionEvent { public override string T => MessageType.PlayerAway; [JsonProperty("player")] public string Player { get; set; } }
    public class PlayerBack : SessionEvent { public override string T => MessageType.PlayerBack; [JsonProperty("player")] public string Player { get; set; } }
    public class HostChanged : SessionEvent { public override string T => MessageType.HostChanged; [JsonProperty("host")] public string Host { get; set; } }
    public class SettingsChanged : SessionEvent
    {
        public override string T => MessageType.SettingsChanged;
        [JsonProperty("rounds")] public long Rounds { get; set; }
        [JsonProperty("seconds")] public long Seconds { get; set; }
        [JsonProperty("lang")] public string Lang { get; set; }
    }
    public class GameStarted : SessionEvent
    {
        public override string T => MessageType.GameStarted;
        [JsonProperty("rounds")] public long Rounds { get; set; }
        [JsonProperty("players")] public List<string> Players { get; set; }
    }
    public class RoundStarted : SessionEvent
    {
        public override string T => MessageType.RoundStarted;
        [JsonProperty("round")] public long Round { get; set; }
        [JsonProperty("customer")] public CustomerView Customer { get; set; }
        [JsonProperty("deadline")] public long Deadline { get; set; }
    }
    public class BowlSubmitted : SessionEvent
    {
        public override string T => MessageType.BowlSubmitted;
        [JsonProperty("round")] public long Round { get; set; }
        [JsonProperty("player")] public string Player { get; set; }
    }
    public class RoundResolved : SessionEvent
    {
        public override string T => MessageType.RoundResolved;
        [JsonProperty("round")] public long Round { get; set; }
        [JsonProperty("results")] public List<Result> Results { get; set; }
        [JsonProperty("totals")] public Dictionary<string, long> Totals { get; set; }
    }
    public class NarrationStart : SessionEvent
    {
        public override string T => MessageType.NarrationStart;
        [JsonProperty("nid")] public string Nid { get; set; }
        [JsonProperty("kind")] public string Kind { get; set; }
        [JsonProperty("round")] public long Round { get; set; }
    }
    public class NarrationDelta : SessionEvent
    {
        public override string T => MessageType.NarrationDelta;
        [JsonProperty("nid")] public string Nid { get; set; }
        [JsonProperty("text")] public string Text { get; set; }
    }
    public class NarrationEnd : SessionEvent
    {
        public override string T => MessageType.NarrationEnd;
        [JsonProperty("nid")] public string Nid { get; set; }
        [JsonProperty("text")] public string Text { get; set; }
        [JsonProperty("source")] public string Source { get; set; }
    }
    public class GameOver : SessionEvent
    {
        public override string T => MessageType.GameOver;
        [JsonProperty("ranking")] public List<RankEntry> Ranking { get; set; }
        [JsonProperty("game")] public string Game { get; set; }
    }
    public class SessionClosed : SessionEvent { public override string T => MessageType.SessionClosed; [JsonProperty("reason")] public string Reason { get; set; } }

    public static class Messages
    {
        public static readonly IReadOnlyDictionary<string, Type> Server = new Dictionary<string, Type>
        {
            [MessageType.Welcome] = typeof(Welcome), [MessageType.Ack] = typeof(Ack), [MessageType.Error] = typeof(Error),
            [MessageType.Pong] = typeof(Pong), [MessageType.Sync] = typeof(Sync), [MessageType.Bye] = typeof(Bye),
            [MessageType.PlayerJoined] = typeof(PlayerJoined), [MessageType.PlayerLeft] = typeof(PlayerLeft),
            [MessageType.PlayerAway] = typeof(PlayerAway), [MessageType.PlayerBack] = typeof(PlayerBack),
            [MessageType.HostChanged] = typeof(HostChanged), [MessageType.SettingsChanged] = typeof(SettingsChanged),
            [MessageType.GameStarted] = typeof(GameStarted), [MessageType.RoundStarted] = typeof(RoundStarted),
            [MessageType.BowlSubmitted] = typeof(BowlSubmitted), [MessageType.RoundResolved] = typeof(RoundResolved),
            [MessageType.NarrationStart] = typeof(NarrationStart), [MessageType.NarrationDelta] = typeof(NarrationDelta),
            [MessageType.NarrationEnd] = typeof(NarrationEnd), [MessageType.GameOver] = typeof(GameOver),
            [MessageType.SessionClosed] = typeof(SessionClosed),
        };
        public static readonly IReadOnlyDictionary<string, Type> Client = new Dictionary<string, Type>
        {
            [MessageType.Hello] = typeof(Hello), [MessageType.SessionCreate] = typeof(SessionCreate),
            [MessageType.SessionJoin] = typeof(SessionJoin), [MessageType.SessionLeave] = typeof(SessionLeave),
            [MessageType.SessionSettings] = typeof(SessionSettings), [MessageType.GameStart] = typeof(GameStart),
            [MessageType.BowlSubmit] = typeof(BowlSubmit), [MessageType.Ping] = typeof(Ping),
        };
    }
}
