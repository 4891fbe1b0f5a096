"""One example of every message, built through the typed constructors (so each is valid).

`scripts/make_vectors.py` writes these as the golden vectors in `protocol/vectors/v1.json`.
"""

from __future__ import annotations

from protocol import Logged, ServerMessage
from protocol.events import (
    Ack,
    BowlSubmitted,
    Bye,
    Error,
    GameOver,
    GameStarted,
    HostChanged,
    NarrationDelta,
    NarrationEnd,
    NarrationStart,
    PlayerAway,
    PlayerBack,
    PlayerJoined,
    PlayerLeft,
    Pong,
    RoundResolved,
    RoundStarted,
    SessionClosed,
    SettingsChanged,
    Sync,
    Welcome,
)
from protocol.messages import (
    BowlSubmit,
    ClientMessage,
    GameStart,
    Hello,
    Ping,
    Resume,
    SessionCreate,
    SessionJoin,
    SessionLeave,
    SessionSettings,
)
from protocol.types import (
    Bowl,
    CustomerView,
    NarrationId,
    NarrationView,
    PlayerId,
    PlayerView,
    Points,
    RankEntry,
    Result,
    SeatView,
    SessionId,
    Settings,
    TableView,
)

S = SessionId("s_8fJ2kQ0aZx1c")
MINJI = PlayerId("p_minji")
ALEX = PlayerId("p_alex")
CUSTOMER = CustomerView(
    id="night_shift_nurse",
    name="야근한 간호사 지은",
    story="열두 시간 근무를 마치고 왔다.",
    name_en="Jieun, a nurse off the night shift",
    story_en="Twelve hours on the ward are over.",
)
BOWL = Bowl(("bok_choy", "enoki", "beef"), 2)
RESULTS = (
    Result(
        MINJI,
        81,
        1,
        (Points("base", 50), Points("likes", 16), Points("spice", 10), Points("variety", 5)),
        BOWL,
    ),
    Result(ALEX, 0, 2, ()),
)
RANKING = (RankEntry(MINJI, "민지", 81, 1), RankEntry(ALEX, "Alex", 0, 2))

CLIENT: dict[str, ClientMessage] = {
    "hello": Hello(token="eyJzdWIiOiJwX21pbmppIn0.c2ln"),
    "hello.resume": Hello(token="eyJzdWIiOiJwX21pbmppIn0.c2ln", resume=Resume(S, 41)),
    "session.create": SessionCreate(rid=1, settings=Settings(rounds=3, seconds=30, lang="ko")),
    "session.create.defaults": SessionCreate(rid="c1"),
    "session.join": SessionJoin(rid=2, code="K7MPQ2"),
    "session.leave": SessionLeave(rid=3),
    "session.settings": SessionSettings(rid=4, rounds=5, lang="en"),
    "game.start": GameStart(rid=5),
    "bowl.submit": BowlSubmit(rid=6, round=1, ingredients=BOWL.ingredients, spice=2),
    "ping": Ping(rid=7, ts=1764140000123),
}

SERVER: dict[str, ServerMessage] = {
    "welcome": Welcome(
        player=PlayerView(MINJI, "민지"), heartbeat_ms=20000, server_time=1764140000000
    ),
    "welcome.resumed": Welcome(
        player=PlayerView(MINJI, "민지"), heartbeat_ms=20000, server_time=1764140000000, session=S
    ),
    "ack": Ack(rid=6),
    "ack.session": Ack(rid=1, session=S, code="K7MPQ2"),
    "error": Error(
        rid=6, code="invalid", message="spice: must be between 0 and 4", retry=False, field="spice"
    ),
    "pong": Pong(rid=7, ts=1764140000123, server_time=1764140000125),
    "bye": Bye(reason="shutdown", retry_ms=1000),
    "sync": Sync(
        session=S,
        seq=12,
        state=TableView(
            code="K7MPQ2",
            phase="picking",
            settings=Settings(rounds=3, seconds=30, lang="ko"),
            players=(
                SeatView(MINJI, "민지", 0, False, True),
                SeatView(ALEX, "Alex", 0, True, False),
            ),
            round=1,
            host=MINJI,
            customer=CUSTOMER,
            deadline=1764140030000,
            bowl=BOWL,
            narration=NarrationView(NarrationId("r1.entrance"), "entrance", "딸랑, 문이 열리고"),
        ),
    ),
    "player.joined": Logged(S, 2, PlayerJoined(player=PlayerView(ALEX, "Alex"))),
    "player.left": Logged(S, 3, PlayerLeft(player=ALEX, reason="timeout")),
    "player.away": Logged(S, 4, PlayerAway(player=ALEX)),
    "player.back": Logged(S, 5, PlayerBack(player=ALEX)),
    "host.changed": Logged(S, 6, HostChanged(host=ALEX)),
    "settings.changed": Logged(S, 7, SettingsChanged(rounds=3, seconds=30, lang="en")),
    "game.started": Logged(S, 8, GameStarted(rounds=3, players=(MINJI, ALEX))),
    "round.started": Logged(S, 9, RoundStarted(round=1, customer=CUSTOMER, deadline=1764140030000)),
    "narration.start": Logged(
        S, 10, NarrationStart(nid=NarrationId("r1.entrance"), kind="entrance", round=1)
    ),
    "narration.delta": Logged(
        S, 11, NarrationDelta(nid=NarrationId("r1.entrance"), text="딸랑, 문이")
    ),
    "narration.end": Logged(
        S,
        12,
        NarrationEnd(nid=NarrationId("r1.entrance"), text="딸랑, 문이 열리고", source="fallback"),
    ),
    "bowl.submitted": Logged(S, 13, BowlSubmitted(round=1, player=MINJI)),
    "round.resolved": Logged(
        S, 14, RoundResolved(round=1, results=RESULTS, totals={MINJI: 81, ALEX: 0})
    ),
    "game.over": Logged(S, 15, GameOver(ranking=RANKING)),
    "session.closed": Logged(S, 16, SessionClosed(reason="empty")),
}
