"""The SSE parser and the chunk reader, fed byte-exact vLLM streams cut at every byte."""

from __future__ import annotations

import pytest

from llm.chat import Chunk, ModelError, parse_payload
from llm.sse import SSEParser
from tests.llm.streams import (
    ERROR,
    FULL,
    KEEP_ALIVE,
    OLD_ERROR,
    OLD_ROLE,
    STORY,
    byte_by_byte,
    content,
    split_everywhere,
)


def events(parts: list[bytes]) -> list[str]:
    parser = SSEParser()
    return [event for part in parts for event in parser.feed(part)]


def story(parts: list[bytes]) -> str:
    chunks = [parse_payload(e) for e in events(parts)]
    return "".join(c.text for c in chunks if c is not None)


def test_the_research_example_reads_as_its_story_then_done() -> None:
    found = events([FULL.encode()])
    assert found[-1] == "[DONE]"
    assert len(found) == 9  # role, five tokens, stop, usage, done
    assert story([FULL.encode()]) == STORY


def test_a_cut_anywhere_changes_nothing() -> None:
    body = FULL.encode()
    whole = events([body])
    for parts in split_everywhere(body):
        assert events(parts) == whole, parts


def test_a_stream_fed_one_byte_at_a_time_keeps_its_korean() -> None:
    assert story(byte_by_byte(FULL.encode())) == STORY


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_cr_line_ends_work_even_cut_between_cr_and_lf(newline: str) -> None:
    body = FULL.replace("\n", newline).encode()
    assert events([body]) == events([FULL.encode()])
    for parts in split_everywhere(body):
        assert story(parts) == STORY


def test_keep_alive_comments_and_other_fields_are_ignored() -> None:
    body = KEEP_ALIVE + "event: message\nid: 7\nretry: 10\n" + content("가") + KEEP_ALIVE
    assert story([body.encode()]) == "가"


def test_several_data_lines_make_one_event_and_a_bom_is_dropped() -> None:
    assert events(["\ufeffdata: a\ndata:b\n\n".encode()]) == ["a\nb"]


def test_an_event_without_its_blank_line_is_not_complete() -> None:
    assert events([content("가").encode()[:-1]]) == []


def test_role_only_and_empty_chunks_carry_no_text() -> None:
    for line in (OLD_ROLE, content("")):
        (payload,) = events([line.encode()])
        assert parse_payload(payload) == Chunk()


def test_several_tokens_in_one_chunk_come_as_one_piece() -> None:
    (payload,) = events([content("마라탕 한 그릇").encode()])
    assert parse_payload(payload) == Chunk("마라탕 한 그릇")


def test_the_usage_chunk_gives_the_token_count() -> None:
    found = [parse_payload(e) for e in events([FULL.encode()])[:-1]]
    assert found[-2] == Chunk(finish_reason="stop")
    assert found[-1] == Chunk(completion_tokens=6)


@pytest.mark.parametrize(
    ("line", "status", "message"),
    [(ERROR, 500, "Internal server error"), (OLD_ERROR, 400, "boom")],
)
def test_error_events_in_either_shape_raise(line: str, status: int, message: str) -> None:
    (payload,) = events([line.encode()])
    with pytest.raises(ModelError) as raised:
        parse_payload(payload)
    assert (raised.value.reason, raised.value.status, raised.value.message) == (
        "error",
        status,
        message,
    )


@pytest.mark.parametrize("payload", ["{not json", "[1, 2]"])
def test_a_payload_that_is_not_a_chunk_raises(payload: str) -> None:
    with pytest.raises(ModelError, match="error"):
        parse_payload(payload)
