"""Placeholders: how the model names players and tells numbers without ever seeing them.

The facts sent to the model name player n as `⟨Pn⟩`, and give the numbers the game decided as
placeholders too: `⟨Sn⟩` player n's score this round, `⟨Tn⟩` their total, `⟨Rn⟩` their place
(in the round for a tasting, in the game for the finale). The model writes the placeholders;
the hub fills in the real names and numbers as it relays the text. So a player's name never
enters a prompt (a name cannot instruct the model), and the model can neither misspell a name
nor change a score.

Grammar: `⟨`, one capital letter, one or two digits, `⟩`. A placeholder split across chunks is
held back only until it is complete. One that names nothing in this narration (`unknown`) or
breaks the grammar (`malformed`, `⟨P1` followed by anything but a digit or `⟩`, or cut off by
the end of the stream) is dropped, and counted; what broke it is read as plain text. A `⟩`
outside a placeholder is dropped too: it is never narration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

OPEN = "⟨"
CLOSE = "⟩"
_MAX_DIGITS = 2

Dropped = Callable[[str], None]
"""Told `unknown` or `malformed` for each placeholder dropped."""


def placeholder(letter: str, who: int) -> str:
    return f"{OPEN}{letter}{who}{CLOSE}"


def _ignore(why: str) -> None:
    pass


@dataclass(frozen=True, slots=True)
class Cast:
    """What each placeholder of one narration stands for: `{"P1": "민지", "S1": "88"}`."""

    values: Mapping[str, str]

    def fill(self, text: str, dropped: Dropped = _ignore) -> str:
        """`text` with every placeholder filled in (a partial one at its end dropped)."""
        filler = self.filler(dropped)
        return filler.feed(text) + filler.end()

    def filler(self, dropped: Dropped = _ignore) -> Filler:
        return Filler(self.values, dropped)

    def rest(self, text: str, shown: str) -> str | None:
        """The part of `text` (with placeholders) still to tell when players were shown
        `shown` (filled in), if `shown` is how `text` begins; None otherwise."""
        if not shown:
            return text
        filler = self.filler()
        at = 0
        for index, char in enumerate(text):
            out = filler.feed(char)
            if shown[at : at + len(out)] != out:
                return None  # shown differs, or stops inside a name
            at += len(out)
            if at == len(shown) and filler.pending is None:
                return text[index + 1 :]
        return None


class Filler:
    """Fills placeholders into a stream of text, chunk by chunk."""

    def __init__(self, values: Mapping[str, str], dropped: Dropped) -> None:
        self._values = values
        self._dropped = dropped
        self.pending: str | None = None
        """The placeholder begun and not yet complete (`⟨P1`), held back."""

    def feed(self, text: str) -> str:
        out: list[str] = []
        at = 0
        while at < len(text):
            if self.pending is None:
                opens = text.find(OPEN, at)
                if opens < 0:
                    out.append(text[at:].replace(CLOSE, ""))
                    break
                out.append(text[at:opens].replace(CLOSE, ""))
                self.pending, at = OPEN, opens + 1
                continue
            char = text[at]
            if char == CLOSE:
                out.append(self._close(self.pending[1:]))
                self.pending = None
            elif _continues(self.pending[1:], char):
                self.pending += char
            else:
                self._drop("malformed")
                continue  # the character is read again as plain text
            at += 1
        return "".join(out)

    def end(self) -> str:
        """The stream ended: a placeholder still open is dropped."""
        if self.pending is not None:
            self._drop("malformed")
        return ""

    def _close(self, body: str) -> str:
        if len(body) < 2:
            self._dropped("malformed")
            return ""
        value = self._values.get(body)
        if value is None:
            self._dropped("unknown")
            return ""
        return value

    def _drop(self, why: str) -> None:
        self.pending = None
        self._dropped(why)


def _continues(body: str, char: str) -> bool:
    """Whether `char` may follow `body` (what follows `⟨` so far) in a placeholder."""
    if not body:
        return "A" <= char <= "Z"
    return char.isascii() and char.isdigit() and len(body) <= _MAX_DIGITS
