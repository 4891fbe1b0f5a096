"""The server's log lines: readable text, or one JSON object per line for a log collector
(`MARATANG_LOG_FORMAT=json`); in both, the session and player whose work a line was, and no
credential.

Whose work a line is travels in context variables, read when the line is written. A socket's
task names its player, and its table while it handles a command; a command, a deadline and a
narration name their table. A task started for someone else's work (a socket's writer, a
narration started by a player's command, the engine's fan-out reader) is given a context of
its own, so a line never names whoever happened to start that task.

Credentials are hidden in the line as it is written, whatever wrote it (our code, uvicorn, a
client library's error that repeats its DSN): a URL's `user:password@`, secret parameters
(`?password=`, `token=`...), a bearer token, and the secrets the settings hold (the passwords
of the configured URLs, the model servers' API key, the signing secret) wherever they appear.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import orjson
import uvicorn
from uvicorn.logging import AccessFormatter, DefaultFormatter

from realtime.settings import Settings

FORMATS = ("text", "json")
SESSION: contextvars.ContextVar[str | None] = contextvars.ContextVar("session", default=None)
PLAYER: contextvars.ContextVar[str | None] = contextvars.ContextVar("player", default=None)
HIDDEN = "***"
SHORTEST_SECRET = 4
"""Secrets shorter than this are too likely to be part of ordinary words to be hidden wherever
they appear (they are still hidden in URLs and `name=value` pairs)."""
SECRET_NAMES = (
    "password|passwd|pwd|sslpassword|secret|client_secret|token|access_token|auth|api_key"
    "|apikey|key|sig|signature"
)
SECRET_NAME = re.compile(SECRET_NAMES, re.IGNORECASE)
USERINFO = re.compile(r"(?P<keep>\b[a-z][a-z0-9+.-]*://[^\s/?#@:]*:)[^\s/?#]*(?=@)", re.IGNORECASE)
"""`scheme://user:password@`: the password (up to the last `@` of the authority) is hidden."""
NAMED = re.compile(
    rf"(?P<keep>(?<![a-z0-9_-])(?:{SECRET_NAMES})=['\"]?)[^\s&#'\",;)]+", re.IGNORECASE
)
"""`password=...` in a query string, a key-value DSN or a repr."""
CREDENTIAL = re.compile(r"(?P<keep>\b(?:[Bb]earer +|Basic +(?=[A-Za-z0-9+/]{8})))[\w.~+/=-]+")
"""An `Authorization` header's value (`Bearer <key>`, `Basic <base64>`)."""


# Whose work ----------------------------------------------------------------------------------


def tag(session: str | None, player: str | None) -> None:
    """Name `session` and `player` on the lines this task logs from now on (and in the tasks
    it starts): for a task that serves one socket."""
    SESSION.set(session)
    PLAYER.set(player)


@contextlib.contextmanager
def about(session: str) -> Iterator[None]:
    """Name `session` on the lines logged within the block: a table's work in a task that
    serves many tables."""
    token = SESSION.set(session)
    try:
        yield
    finally:
        SESSION.reset(token)


def context_for(session: str | None, player: str | None = None) -> contextvars.Context:
    """A context for a task that works for `session` (and `player`), whoever starts it."""
    context = contextvars.copy_context()
    context.run(tag, session, player)
    return context


def whose(record: logging.LogRecord) -> tuple[str | None, str | None]:
    """The session and player a line names: those given with it (`extra={"player": ...}`,
    for a socket's line written in another's task), else those of the task that wrote it."""
    if hasattr(record, "player"):
        return getattr(record, "session", None), record.player
    return SESSION.get(), PLAYER.get()


# Credentials ---------------------------------------------------------------------------------


def url_secrets(url: str) -> list[str]:
    """The secrets in `url`: its password, and the values of its secret parameters."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL: the patterns still find what looks like one
        return []
    found = [parts.password or ""]
    found += [v for k, v in parse_qsl(parts.query) if SECRET_NAME.fullmatch(k)]
    return [s for secret in found if secret for s in {secret, unquote(secret)}]


def settings_secrets(settings: Settings) -> list[str]:
    """Every secret the settings hold, to be hidden wherever a line shows one."""
    urls = [settings.engine, settings.database_url, *settings.llm_url.split(",")]
    found = [secret for url in urls for secret in url_secrets(url.strip())]
    return [*found, settings.llm_api_key, settings.secret]


class Redactor:
    """Hides credentials in text (see the module's docstring)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        kept = {s for s in secrets if len(s) >= SHORTEST_SECRET}
        self._secrets = sorted(kept, key=len, reverse=True)  # a longer one may hold a shorter

    def __call__(self, text: str) -> str:
        for pattern in (USERINFO, NAMED, CREDENTIAL):
            text = pattern.sub(rf"\g<keep>{HIDDEN}", text)
        for secret in self._secrets:
            text = text.replace(secret, HIDDEN)
        return text


redact = Redactor()
"""Hides what the patterns find (no secrets of the settings)."""


# The formats ---------------------------------------------------------------------------------


class Redacting(logging.Formatter):
    """A formatter whose every line is redacted (`secrets`: those of the settings)."""

    def __init__(self, *args: Any, secrets: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.redact = Redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


class TextLines(Redacting, DefaultFormatter):
    """uvicorn's readable lines, with `[session=… player=…]` when the work was someone's."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        session, player = whose(record)
        named = [f"{k}={v}" for k, v in (("session", session), ("player", player)) if v]
        return f"{line} [{' '.join(named)}]" if named else line


class AccessLines(Redacting, AccessFormatter):
    """uvicorn's access lines, redacted (a query string may carry a secret)."""


class JsonLines(Redacting):
    """One JSON object per line: `time` (ISO 8601, UTC), `level`, `logger`, `message`, then
    `session`, `player`, `exc` (the traceback) and `stack` (a stack asked for) when there
    are."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        session, player = whose(record)
        if session:
            line["session"] = session
        if player:
            line["player"] = player
        if record.exc_info:
            line["exc"] = self.redact(self.formatException(record.exc_info))
        if record.stack_info:
            line["stack"] = self.redact(self.formatStack(record.stack_info))
        return orjson.dumps(line).decode()


def log_config(level: str, form: str = "text", secrets: Iterable[str] = ()) -> dict[str, Any]:
    """The logging of every process `serve` runs: uvicorn's loggers, Maratang's beside them,
    and every other library's warnings (the root logger), all in format `form`."""
    config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    hidden = list(secrets)
    if form == "json":
        lines = {"()": f"{__name__}.JsonLines", "secrets": hidden}
        config["formatters"] = {name: dict(lines) for name in ("default", "access", "maratang")}
    else:
        formatters = config["formatters"]
        formatters["default"].update({"()": f"{__name__}.TextLines", "secrets": hidden})
        formatters["access"].update({"()": f"{__name__}.AccessLines", "secrets": hidden})
        formatters["maratang"] = {
            "()": f"{__name__}.TextLines",
            "fmt": "%(levelprefix)s %(name)s: %(message)s",
            "secrets": hidden,
        }
    config["handlers"]["maratang"] = {
        "formatter": "maratang",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
    }
    config["loggers"]["maratang"] = {
        "handlers": ["maratang"],
        "level": level.upper(),
        "propagate": False,
    }
    config["root"] = {"handlers": ["maratang"], "level": "WARNING"}
    return config


def say(
    text: str,
    form: str,
    *,
    logger: str = "maratang",
    error: bool = False,
    secrets: Iterable[str] = (),
) -> None:
    """A line a command prints on its own, before any logging is set up (`serve` starting,
    `migrate`): as it is (errors on stderr), or as a JSON line like every log line."""
    stream = sys.stderr if error else sys.stdout
    if form == "json":
        level = logging.ERROR if error else logging.INFO
        record = logging.LogRecord(logger, level, __file__, 0, text.strip(), None, None)
        print(JsonLines(secrets=secrets).format(record), file=stream, flush=True)
    else:
        print(Redactor(secrets)(text), file=stream, flush=True)
