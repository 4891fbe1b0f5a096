"""The guard model: a second opinion on narration that a word list cannot give, asked of a
safety classifier served by vLLM. Off unless configured; the check stage decides what a
`GuardError` means (let the text through, or hold it).

Kanana Safeguard 8B (`kakaocorp/kanana-safeguard-8b`, Apache 2.0, Kakao, May 2025) is built
for Korean. Its model card prompts it with the conversation itself, a user message and the
assistant's response, rendered by its own chat template without a generation prompt, and
reads one generated token: `<SAFE>`, or `<UNSAFE-Sx>` with the category of harm: S1 hate,
S2 bullying, S3 sexual content, S4 crime, S5 child sexual abuse, S6 suicide and self-harm,
S7 misinformation. `ModelGuard` asks the same through vLLM's chat API: the narration as the
assistant's message after a short request for it, `add_generation_prompt: false` (as the
card renders it), `temperature: 0`, a few `max_tokens`, and `skip_special_tokens: false` so
the verdict token is not stripped from the answer if the tokenizer marks it special.

GPU memory on the vLLM box (sources: the model card and its listing at featherless.ai, 8B
parameters, 8k context; Kakao's Kanana Safeguard collection on Hugging Face; QwenLM/Qwen3Guard
README; docs/deploy.md for the narrator's own figures):

- Weights: 8B parameters in bf16 are about 16 GB, as much as the narrator's Kanana 1.5 8B.
- KV cache: it is built on Kanana 8B (32 layers, 8 KV heads of 128: 128 KiB per token, which
  matches docs/deploy.md's ~120 narrations of ~1,800 tokens in a 48 GB card's cache). A
  verdict reads 200-400 tokens and writes one, so 32 checks at once need about 1.5 GB.
- So a guard takes about 18-20 GB with vLLM's own overhead. Beside the narrator on the
  shipped 48 GB card (two vLLM servers, `--gpu-memory-utilization` about 0.40 for the guard
  and 0.50 for the narrator) it leaves the narrator about a third of its cache (~30-40
  narrations at once instead of ~120); a 24 GB card cannot hold both. A second card of 24 GB
  runs the guard alone; FP8 weights (`--quantization fp8`, Ada or newer) halve it to ~9 GB.
- Smaller guards: Kakao's `kanana-safeguard-prompt-2.1b` (~4 GB) detects prompt attacks only
  (A1 injection, A2 leaking), not harmful content. `Qwen/Qwen3Guard-Gen-0.6B` (~1.2 GB) and
  `-4B` (~8 GB) cover 119 languages including Korean but answer in another format
  (`Safety: Unsafe` / `Categories: ...`): they need a `Guard` of their own.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

import orjson

from llm.http_client import Answer, HTTPClient
from llm.http_connection import HTTPFailure

MAX_TOKENS = 4
"""The verdict is one token; a few more leave room for a server that adds an end token."""
REQUESTS = {
    "ko": "마라탕 가게에 온 손님과 요리 대결 이야기를 들려주세요.",
    "en": "Tell the story of the customer and the cooking contest at the mala soup shop.",
}
"""The user's message the narration answers: the guard judges a response in its context."""
_VERDICT = re.compile(r"\s*<(SAFE|UNSAFE-([A-Z][0-9]+))>")


class GuardError(Exception):
    """The guard could not answer (unreachable, slow, refused, or said something else)."""


class Guard(Protocol):
    """Judges narration text. A guard is asked once per batch of sentences, concurrently with
    other narrations: it keeps no state between calls, and every call ends within its own
    timeout, with a verdict or a `GuardError`."""

    async def verdict(self, text: str, lang: str) -> str | None:
        """None when `text` (one or more sentences of narration) is safe, else the category."""
        ...


class ModelGuard:
    """A guard model served by vLLM (OpenAI-compatible), answering as Kanana Safeguard does."""

    def __init__(
        self, client: HTTPClient, base_url: str, model: str, timeout: float, api_key: str = ""
    ) -> None:
        self._client = client
        self._url = base_url.rstrip("/").removesuffix("/v1").rstrip("/") + "/v1/chat/completions"
        self._model = model
        self._timeout = timeout
        self._headers = {"content-type": "application/json", "accept": "application/json"}
        if api_key:
            self._headers["authorization"] = f"Bearer {api_key}"

    async def verdict(self, text: str, lang: str) -> str | None:
        try:
            answer = await self._client.post(
                self._url, orjson.dumps(self.request(text, lang)), self._headers, self._timeout
            )
        except HTTPFailure as exc:
            raise GuardError(f"guard {self._model}: {exc}") from None
        return verdict_of(answer)

    def request(self, text: str, lang: str) -> dict[str, Any]:
        """The chat-completion request that asks for `text`'s verdict."""
        return {
            "model": self._model,
            "messages": [
                {"role": "user", "content": REQUESTS.get(lang, REQUESTS["en"])},
                {"role": "assistant", "content": text},
            ],
            "stream": False,
            "temperature": 0,
            "max_tokens": MAX_TOKENS,
            "add_generation_prompt": False,
            "skip_special_tokens": False,
        }


def verdict_of(answer: Answer) -> str | None:
    """None for `<SAFE>`, the category for `<UNSAFE-Sx>`. Raises `GuardError` for any other
    answer."""
    if answer.status != 200:
        raise GuardError(f"guard answered HTTP {answer.status}: {_error_message(answer)}")
    try:
        content = answer.json()["choices"][0]["message"]["content"]
    except (ValueError, LookupError, TypeError):
        raise GuardError(f"guard answer is not a chat completion: {answer.body[:200]!r}") from None
    found = _VERDICT.match(content) if isinstance(content, str) else None
    if found is None:
        raise GuardError(f"guard answered no verdict: {content!r:.80}")
    return found.group(2)


def _error_message(answer: Answer) -> str:
    """vLLM's error message, or the start of the body."""
    try:
        return str(answer.json()["error"]["message"])
    except (ValueError, LookupError, TypeError):
        return repr(answer.body[:200])
