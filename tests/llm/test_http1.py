"""HTTP/1.1 responses read sans I/O: every framing a server may use, cut at every byte, and
what a server must not send."""

from __future__ import annotations

import pytest

from llm.chat import parse_payload
from llm.http1 import BadResponse, ResponseReader, request_bytes
from llm.sse import SSEParser
from tests.llm.scripted import SSE_HEAD, framed
from tests.llm.streams import FULL, STORY, split_everywhere

CHUNKED = SSE_HEAD + b"".join(framed(e.encode() + b"\n\n") for e in FULL.split("\n\n")[:-1])
CHUNKED += b"0\r\n\r\n"
"""The research notes' example stream as vLLM sends it: one chunk per event."""


def read(parts: list[bytes], method: str = "POST") -> tuple[bytes, ResponseReader]:
    reader = ResponseReader(method)
    body = b"".join(reader.feed(part) for part in parts)
    return body, reader


def test_a_chunked_stream_cut_anywhere_reads_as_its_story() -> None:
    whole, _ = read([CHUNKED])
    assert whole == FULL.encode()
    for parts in split_everywhere(CHUNKED):
        body, reader = read(parts)
        assert body == whole, parts
        assert reader.complete
        assert reader.keep_alive
        assert reader.head is not None
        assert reader.head.status == 200


def test_the_body_goes_on_to_the_sse_parser_cut_where_the_socket_cut_it() -> None:
    reader, parser = ResponseReader(), SSEParser()
    payloads = [
        p for i in range(len(CHUNKED)) for p in parser.feed(reader.feed(CHUNKED[i : i + 1]))
    ]
    chunks = [parse_payload(p) for p in payloads]
    assert "".join(c.text for c in chunks if c is not None) == STORY
    assert payloads[-1] == "[DONE]"


def test_chunk_extensions_and_trailers_are_skipped() -> None:
    raw = SSE_HEAD + b"5;name=value\r\nhello\r\n0\r\nx-trailer: 1\r\n\r\n"
    body, reader = read([raw])
    assert (body, reader.complete) == (b"hello", True)


def test_a_content_length_body_ends_at_its_length() -> None:
    raw = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy"
    body, reader = read([raw[:-2], raw[-2:]])
    assert (body, reader.complete, reader.keep_alive) == (b"busy", True, True)
    assert reader.head is not None
    assert (reader.head.status, reader.head.reason) == (503, "Service Unavailable")


def test_a_body_without_length_runs_until_the_server_closes() -> None:
    body, reader = read([b"HTTP/1.1 200 OK\r\n\r\nall of", b" it"])
    assert not reader.complete
    reader.eof()
    assert (body, reader.complete, reader.keep_alive) == (b"all of it", True, False)


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
        b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n",
    ],
)
def test_a_connection_the_server_will_close_is_not_kept(head: bytes) -> None:
    _, reader = read([head])
    assert reader.complete
    assert not reader.keep_alive


def test_interim_answers_are_skipped_and_some_answers_have_no_body() -> None:
    _, reader = read([b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"])
    assert reader.head is not None
    assert reader.head.status == 204
    assert reader.complete
    _, reader = read([b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n"], method="HEAD")
    assert reader.complete


def test_bare_lf_line_ends_are_understood() -> None:
    body, reader = read([b"HTTP/1.1 200 OK\ntransfer-encoding: chunked\n\n2\nok\n0\n\n"])
    assert (body, reader.complete) == (b"ok", True)


def test_repeated_headers_are_joined() -> None:
    _, reader = read([b"HTTP/1.1 204 X\r\nVia: a\r\nvia: b\r\n\r\n"])
    assert reader.head is not None
    assert reader.head.headers["via"] == "a, b"


@pytest.mark.parametrize(
    "raw",
    [
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 1, 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
        SSE_HEAD + b"zz\r\n",
        SSE_HEAD + b"0x5\r\nhello\r\n",
        SSE_HEAD + b"2\r\nhello\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokextra",
        b"HTTP/1.1 200 OK\r\n" + b"x: " + b"y" * 70_000,
    ],
)
def test_what_a_server_must_not_send_is_refused(raw: bytes) -> None:
    with pytest.raises(BadResponse):
        read([raw])


def test_a_connection_closed_mid_body_is_an_error() -> None:
    _, reader = read([SSE_HEAD + b"5\r\nhel"])
    with pytest.raises(BadResponse, match="closed before"):
        reader.eof()


def test_a_request_has_its_host_length_and_headers() -> None:
    raw = request_bytes("POST", "/v1/chat/completions", "vllm:8000", {"x-a": "1"}, b"{}")
    assert raw == (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: vllm:8000\r\nx-a: 1\r\n"
        b"content-length: 2\r\n\r\n{}"
    )
    assert b"content-length" not in request_bytes("GET", "/health", "h", {}, b"")


@pytest.mark.parametrize("headers", [{"x-a": "1\r\nx-b: 2"}, {"bad name": "1"}])
def test_a_header_that_would_break_the_request_is_refused(headers: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="not a header"):
        request_bytes("GET", "/", "h", headers, b"")
