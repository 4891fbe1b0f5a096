"""Byte-exact vLLM 0.33 streams (as serialised by its `chat_completion_stream_generator`),
and a scripted HTTP/1.1 server on loopback that answers with them, cut and paced as a test
says (`tests/llm/scripted.py`)."""

from __future__ import annotations

from collections.abc import Iterable

HEAD = (
    '{"id":"chatcmpl-7f3c2a1e9b8d4c6fa0e1d2c3b4a59687","object":"chat.completion.chunk",'
    '"created":1764140000,"model":"kanana",'
)


def content(text: str) -> str:
    return (
        f'data: {HEAD}"choices":[{{"index":0,"delta":{{"content":"{text}"}},"logprobs":null,'
        '"finish_reason":null,"token_ids":null}],"kv_transfer_params":null}\n\n'
    )


ROLE = (
    f'data: {HEAD}"choices":[{{"index":0,"delta":{{"role":"assistant","content":""}},'
    '"logprobs":null,"finish_reason":null}],"prompt_token_ids":null,"prompt_text":null}\n\n'
)
OLD_ROLE = f'data: {HEAD}"choices":[{{"index":0,"delta":{{"role":"assistant"}}}}]}}\n\n'
STOP = (
    f'data: {HEAD}"choices":[{{"index":0,"delta":{{"content":""}},"logprobs":null,'
    '"finish_reason":"stop","stop_reason":null,"token_ids":null,"weight_versions":null}],'
    '"kv_transfer_params":null}\n\n'
)
USAGE = (
    f'data: {HEAD}"choices":[],"usage":{{"prompt_tokens":1500,"total_tokens":1506,'
    '"completion_tokens":6},"system_fingerprint":"vllm-0.33.0-1a2b3c4d"}\n\n'
)
DONE = "data: [DONE]\n\n"
KEEP_ALIVE = ": keep-alive\n\n"
ERROR = (
    'data: {"error": {"message": "Internal server error", "type": "InternalServerError", '
    '"param": null, "code": 500}}\n\n'
)
OLD_ERROR = (
    'data: {"object": "error", "message": "boom", "type": "BadRequestError", '
    '"param": null, "code": 400}\n\n'
)

TOKENS = ["문이", " 삐걱", "거리며", " 열", "렸다."]
STORY = "".join(TOKENS)
FULL = "".join([ROLE, *(content(t) for t in TOKENS), STOP, USAGE, DONE])
"""The research notes' example stream: five tokens, end of turn, usage, done."""


def split_everywhere(body: bytes) -> Iterable[list[bytes]]:
    """`body` cut in two at every byte: inside `data:`, inside Korean characters, between
    CR and LF."""
    for cut in range(1, len(body)):
        yield [body[:cut], body[cut:]]


def byte_by_byte(body: bytes) -> list[bytes]:
    return [body[i : i + 1] for i in range(len(body))]
