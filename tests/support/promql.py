"""The metric names that a PromQL expression reads, and the names that a `/metrics` answer
offers, so that a test can hold a dashboard's or an alert rule's expressions to what really
exists.

The names in an expression are found by a small tokenizer (promtool has no way to print a
parsed expression): what is left once strings, label matchers, durations and numbers,
keywords, aggregations and functions, the label lists of `by`/`on`/..., and Grafana's
variables are taken out."""

from __future__ import annotations

import re
from collections.abc import Iterator

TOKEN = re.compile(
    r"""
    (?P<space>\s+|\#[^\n]*)
  | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
  | (?P<variable>\$\{[^}]*\}|\$\w+|\[\[\w+\]\])
  | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[a-zA-Z]*)
  | (?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<open>[({\[])
  | (?P<close>[)}\]])
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=,@])
    """,
    re.VERBOSE,
)
AGGREGATIONS = frozenset(
    {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values"}
    | {"bottomk", "topk", "quantile", "limitk", "limit_ratio"}
)
GROUPING = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
"""Keywords followed by a parenthesised list of label names."""
KEYWORDS = AGGREGATIONS | GROUPING | {"and", "or", "unless", "bool", "offset", "atan2"}
CONSTANTS = frozenset({"inf", "nan"})


class PromQLError(ValueError):
    """An expression this reader cannot take apart (it never guesses)."""


def tokens(expr: str) -> Iterator[tuple[str, str]]:
    """(kind, text) for every token but spaces and comments."""
    at = 0
    while at < len(expr):
        found = TOKEN.match(expr, at)
        if not found or found.lastgroup is None:
            raise PromQLError(f"cannot read {expr[at : at + 20]!r} in {expr!r}")
        if found.lastgroup != "space":
            yield found.lastgroup, found.group()
        at = found.end()


def metric_names(expr: str) -> set[str]:
    """The metric names that `expr` selects."""
    names: set[str] = set()
    stream = list(tokens(expr))
    _check_brackets(stream, expr)
    i = 0
    while i < len(stream):
        kind, text = stream[i]
        following = stream[i + 1][1] if i + 1 < len(stream) else ""
        if text == "{":
            i, selected = _matchers(stream, i)
            names |= selected
            continue
        if text == "[":
            i = _skip(stream, i, "[", "]")
            continue
        if kind == "name" and text in GROUPING and following == "(":
            i = _skip(stream, i + 1, "(", ")")
            continue
        if kind == "name" and not _is_word(text) and following != "(":
            names.add(text)
        i += 1
    return names


def _check_brackets(stream: list[tuple[str, str]], expr: str) -> None:
    pending: list[str] = []
    for kind, text in stream:
        if kind == "open":
            pending.append({"(": ")", "{": "}", "[": "]"}[text])
        elif kind == "close" and (not pending or pending.pop() != text):
            raise PromQLError(f"an unmatched {text!r} in {expr!r}")
    if pending:
        raise PromQLError(f"{len(pending)} brackets left open in {expr!r}")


def _is_word(text: str) -> bool:
    return text in KEYWORDS or text.lower() in CONSTANTS


def _skip(stream: list[tuple[str, str]], i: int, open_: str, close: str) -> int:
    """The index after the bracket that closes the one at `i`."""
    depth = 0
    for j in range(i, len(stream)):
        depth += {open_: 1, close: -1}.get(stream[j][1], 0)
        if depth == 0:
            return j + 1
    raise PromQLError(f"unclosed {open_!r}")


def _matchers(stream: list[tuple[str, str]], i: int) -> tuple[int, set[str]]:
    """Skip a `{...}` label-matcher list; a `__name__="x"` in it names metric x."""
    end = _skip(stream, i, "{", "}")
    inside = [text for _, text in stream[i + 1 : end - 1]]
    names: set[str] = set()
    for at, text in enumerate(inside):
        if text == "__name__":
            operator, value = inside[at + 1], inside[at + 2]
            if operator != "=":
                raise PromQLError(f"a __name__ matched by {operator}: list the names instead")
            names.add(value[1:-1])
    return end, names


SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)[\s{]")
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
    "gauge": ("",),
    "untyped": ("",),
}


def exposed_names(text: str) -> set[str]:
    """The series names a `/metrics` answer (Prometheus text format) offers: every sample's
    name, and the names each `# TYPE` line promises even while a family has no sample yet
    (a labelled counter before its first increment)."""
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, family, kind = line.split(maxsplit=3)
            names |= _family_names(family, kind.strip())
        elif found := SAMPLE.match(line):
            names.add(found.group(1))
    return names


def _family_names(family: str, kind: str) -> set[str]:
    if kind == "counter" and family.endswith("_total"):
        return {family}
    return {family + suffix for suffix in SUFFIXES.get(kind, ("",))}
