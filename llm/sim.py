"""`maratang llm-sim`: a stand-in for vLLM's OpenAI-compatible server, for development, tests
and load tests where no GPU is.

It speaks vLLM 0.33's wire format byte for byte (see `docs/architecture.md`, "Narration"):
the role chunk, content chunks (several tokens each with `stream_interval`, empty ones where
vLLM holds back half a Korean character), the terminal chunk, the usage chunk, `[DONE]`,
`: keep-alive` comments, in-stream error events and vLLM's JSON errors before a stream (and,
with `split_bytes`, each event cut into several HTTP chunks, as a proxy may cut it). It
paces tokens (time to first token, tokens per second, jitter), queues requests beyond
`max_num_seqs` (served by arrival, or by priority then arrival under
`scheduling_policy="priority"`, as vLLM's `--scheduling-policy`), refuses beyond
`max_num_queued_reqs` with 503, and injects faults on demand.
When a client disconnects it aborts the generation, as vLLM does, and counts it.

`GET/PUT /sim/config` reads and changes the knobs at run time; `GET /sim/stats` tells what
it has done (requests now running and the most ever running at once, aborts, the order
the newest requests began in with their priority and max_tokens, ...);
`GET /metrics` says it in vLLM's metric names (`llm.sim_metrics`).

A non-zero `priority` under `fcfs` is refused with 400 `Got priority N but Priority scheduling
is not enabled.`, as vLLM documents and as its old (V0) engine did. vLLM's V1 engine lets it
through and ignores it (vllm-project/vllm#22997); the simulator is strict so that a hub sending
priorities to a server not set up for them shows in tests.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, fields, replace
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from llm.sim_config import SimConfig, Stats
from llm.sim_guard import GuardAnswer, judged, verdict
from llm.sim_metrics import SimMetrics
from llm.sim_queue import Turns
from llm.sim_text import narration
from llm.sim_wire import Fault, Job, Wire, completion

log = logging.getLogger("maratang.llm_sim")

VERSION = "0.33.0"
HANGUL = re.compile("[가-힣]")


class SimError(Exception):
    """A request refused before streaming, answered with vLLM's JSON error body."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message

    def response(self) -> JSONResponse:
        error = {"message": self.message, "type": self.kind, "param": None, "code": self.status}
        return JSONResponse({"error": error}, status_code=self.status)


class Dropped(Exception):
    """Raised inside a stream to cut the connection without finishing the body."""


class Simulator:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.stats = Stats()
        self.metrics = SimMetrics(self.stats, lambda: self.config)
        self._turns = Turns(self.stats, lambda: self.config)
        """Requests beyond `max_num_seqs` wait here for a running one to end."""
        self._rng = random.Random(config.seed)
        self._fingerprint = f"vllm-{VERSION}-{secrets.token_hex(4)}"

    # HTTP ---------------------------------------------------------------------------------

    async def chat(self, request: Request) -> Response:
        try:
            self._authorise(request)
            body = await _json_body(request)
            if body.get("model") == self.config.guard_model != self.config.model:
                return await self._judge(body)
            job = self._job(request, body)
            if job.fault == "503":
                raise _busy()
            if not body.get("stream"):
                return self._whole(job)
            self._admit()
        except SimError as exc:
            self.stats.refused += 1
            return exc.response()
        headers = {"x-request-id": job.rid.removeprefix("chatcmpl-")}
        return StreamingResponse(self._stream(job), media_type="text/event-stream", headers=headers)

    async def models(self, request: Request) -> Response:
        card = {
            "id": self.config.model,
            "object": "model",
            "created": int(time.time()),
            "owned_by": "vllm",
            "root": self.config.model,
            "parent": None,
            "max_model_len": 8192,
            "permission": [],
        }
        return JSONResponse({"object": "list", "data": [card]})

    async def get_config(self, request: Request) -> Response:
        return JSONResponse(asdict(self.config))

    async def put_config(self, request: Request) -> Response:
        try:
            changes = await _json_body(request)
            known = {f.name for f in fields(SimConfig)}
            unknown = sorted(set(changes) - known)
            if unknown:
                raise SimError(400, "BadRequestError", f"unknown settings: {', '.join(unknown)}")
            self.config = replace(self.config, **changes)
        except (TypeError, ValueError) as exc:
            return SimError(400, "BadRequestError", str(exc)).response()
        except SimError as exc:
            return exc.response()
        log.info("settings now %s", changes)
        self._turns.serve()  # a raised cap lets queued requests in
        return JSONResponse(asdict(self.config))

    async def get_stats(self, request: Request) -> Response:
        return JSONResponse(self.stats.public())

    async def get_metrics(self, request: Request) -> Response:
        return Response(self.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    # Requests -----------------------------------------------------------------------------

    def _authorise(self, request: Request) -> None:
        if self.config.api_key and request.headers.get("authorization") != (
            f"Bearer {self.config.api_key}"
        ):
            raise SimError(401, "Unauthorized", "Unauthorized")

    def _job(self, request: Request, body: dict[str, Any]) -> Job:
        model = body.get("model")
        if model != self.config.model:
            raise SimError(
                404,
                "NotFoundError",
                f"The model `{model}` does not exist. Valid aliases: {self.config.model}",
            )
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise SimError(400, "BadRequestError", "messages: field required, a non-empty list")
        options = body.get("stream_options")
        if options is not None and not body.get("stream"):
            raise SimError(
                400, "BadRequestError", "Stream options can only be defined when `stream=True`."
            )
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens") or 8192
        if not isinstance(max_tokens, int) or max_tokens < 1:
            raise SimError(400, "BadRequestError", "max_tokens must be at least 1")
        said = [m for m in messages if isinstance(m, dict)]
        text = "\n".join(str(m.get("content", "")) for m in said)
        prompt = next(
            (str(m.get("content")) for m in reversed(said) if m.get("role") == "user"), ""
        )
        system = next((str(m.get("content")) for m in said if m.get("role") == "system"), text)
        options = options if isinstance(options, dict) else {}
        interval = body.get("stream_interval") or 1
        if not isinstance(interval, int) or interval < 1:
            raise SimError(400, "BadRequestError", "stream_interval must be at least 1")
        priority = self._priority(body)
        rid = request.headers.get("x-request-id") or secrets.token_hex(16)
        return Job(
            rid=f"chatcmpl-{rid}",
            created=int(time.time()),
            prompt=prompt,
            korean=bool(HANGUL.search(system)),  # the system prompt's language
            prompt_tokens=max(1, len(text) // 3),
            max_tokens=max_tokens,
            include_usage=bool(options.get("include_usage")),
            continuous_usage=bool(options.get("include_usage"))
            and bool(options.get("continuous_usage_stats")),
            stream_interval=interval,
            fault=self._fault(),
            seed=self._rng.randrange(1 << 30),
            priority=priority,
        )

    def _priority(self, body: dict[str, Any]) -> int:
        """The request's `priority`; a non-zero one only under the priority policy."""
        priority = body.get("priority", 0)
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise SimError(400, "BadRequestError", "priority: Input should be a valid integer")
        if priority != 0 and self.config.scheduling_policy != "priority":
            raise SimError(
                400,
                "BadRequestError",
                f"Got priority {priority} but Priority scheduling is not enabled.",
            )
        return priority

    async def _judge(self, body: dict[str, Any]) -> Response:
        """The guard model's verdict (`llm.sim_guard`), after the time to a first token."""
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise SimError(400, "BadRequestError", "messages: field required, a non-empty list")
        if self._fault() == "503":
            raise _busy()
        said = verdict(judged(messages), self.config.guard_flags)
        answer = GuardAnswer(self.config.guard_model, body, said, self._fingerprint)
        if body.get("stream"):
            events = answer.events(lambda: asyncio.sleep(self.config.ttft))
            return StreamingResponse(events, media_type="text/event-stream")
        await asyncio.sleep(self.config.ttft)
        return Response(answer.whole(), media_type="application/json")

    def _fault(self) -> Fault:
        config = self.config
        if config.fault == "none" or self._rng.random() >= config.fault_rate:
            return "none"
        return config.fault

    def _admit(self) -> None:
        config = self.config
        queued = self.stats.running + self.stats.waiting
        if config.max_num_queued_reqs and queued >= config.max_num_queued_reqs:
            raise SimError(
                503,
                "ServiceUnavailableError",
                f"The engine is currently busy: {queued} requests are queued "
                f"(--max-num-queued-reqs {config.max_num_queued_reqs}). Please retry later.",
            )

    def _whole(self, job: Job) -> Response:
        words, finish = self._tokens(job)
        body = completion(
            job, self.config.model, "".join(words), finish, len(words) + (finish == "stop")
        )
        return Response(orjson.dumps(body), media_type="application/json")

    def _tokens(self, job: Job) -> tuple[list[str], str]:
        want = min(self.config.output_tokens, job.max_tokens)
        config = self.config
        said = narration(
            job.prompt, job.korean, want, job.seed, config.say, config.say_after, config.skip_bowl
        )
        words = said[:want]
        return words, "length" if want == job.max_tokens else "stop"

    # Streaming ----------------------------------------------------------------------------

    async def _stream(self, job: Job) -> AsyncIterator[str | bytes]:
        stats = self.stats
        stats.requests += 1
        arrived = time.monotonic()
        running = False
        try:
            await self._turns.wait(job)
            running = True
            stats.began(job.rid, job.priority, job.max_tokens)
            stats.max_running = max(stats.max_running, stats.running)
            async for event in self._generate(job, arrived):
                split = self.config.split_bytes
                if not split:
                    yield event
                    continue
                data = event.encode()
                for start in range(0, len(data), split):
                    yield data[start : start + split]
        except asyncio.CancelledError:
            self._finish(job, "abort")
            log.info("Request %s aborted.", job.rid)
            raise
        finally:
            if running:
                self._turns.ended()

    async def _generate(self, job: Job, arrived: float) -> AsyncIterator[str]:
        """The events of `job`'s answer (it arrived at `arrived`, on the monotonic clock)."""
        wire = Wire(job, self.config.model, self._fingerprint)
        async for comment in self._pause(self.config.ttft):
            yield comment
        yield wire.role()
        words, finish = self._tokens(job)
        sent = 0
        every = max(self.config.stream_interval, job.stream_interval)
        last = arrived
        for start in range(0, len(words), every):
            group = words[start : start + every]
            last = self._observe_chunk(arrived, last, sent == 0, len(group))
            if job.korean and start // every % 9 == 8:
                yield wire.content("", sent)  # half a character held back
            text = "".join(group) if not self.config.stamp_tokens else _stamp()
            sent += len(group)
            yield wire.content(text, sent)
            if job.fault != "none" and sent >= self.config.fault_after:
                if job.fault == "error":
                    self._finish(job, "error")
                    yield wire.error()
                    yield "data: [DONE]\n\n"
                    return
                if job.fault == "drop":
                    self._finish(job, "dropped")
                    raise Dropped(f"request {job.rid}: dropping the connection (fault)")
            async for comment in self._pause(self._gap(job, sent, every)):
                yield comment
        self.stats.generation_tokens += sent + (finish == "stop")
        self._finish(job, finish)
        self.metrics.finished(time.monotonic() - arrived)
        yield wire.end(finish, sent + (finish == "stop"))
        if job.include_usage:
            yield wire.usage(sent + (finish == "stop"))
        yield "data: [DONE]\n\n"

    def _observe_chunk(self, arrived: float, last: float, first: bool, tokens: int) -> float:
        """Observe a chunk about to leave: its latency from the request when it is the first,
        else its tokens' from the chunk before. Now, for the next."""
        now = time.monotonic()
        if first:
            self.metrics.first_token(now - arrived)
        else:
            self.metrics.between_tokens(now - last, tokens)
        return now

    def _gap(self, job: Job, sent: int, every: int) -> float:
        """Seconds until the next chunk: the pace, or the fault's once it is due."""
        config = self.config
        if job.fault in ("hang", "trickle") and sent >= config.fault_after:
            return float("inf") if job.fault == "hang" else config.trickle_seconds
        spread = 1 + config.jitter * (2 * self._rng.random() - 1)
        return every / config.tps * spread

    async def _pause(self, seconds: float) -> AsyncIterator[str]:
        """Wait `seconds`, sending `: keep-alive` after every `keep_alive` seconds of it."""
        every = self.config.keep_alive
        while every and seconds > every:
            await asyncio.sleep(every)
            seconds -= every
            yield ": keep-alive\n\n"
        await asyncio.sleep(seconds)

    def _finish(self, job: Job, reason: str) -> None:
        self.stats.finished[reason] = self.stats.finished.get(reason, 0) + 1
        self.stats.prompt_tokens += job.prompt_tokens
        if reason in ("stop", "length"):
            self.stats.completed += 1
        elif reason == "abort":
            self.stats.aborted += 1


def _last(messages: list[dict[str, Any]], role: str, default: str) -> str:
    """The content of the last message with `role`, or `default`."""
    found = [str(m.get("content", "")) for m in messages if m.get("role") == role]
    return found[-1] if found else default


def _stamp() -> str:
    return f"<{time.time_ns() // 1000}>"


def _busy() -> SimError:
    return SimError(
        503, "ServiceUnavailableError", "The engine is currently busy. Please retry later."
    )


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise SimError(400, "BadRequestError", f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise SimError(400, "BadRequestError", "the body must be a JSON object")
    return body


async def _health(request: Request) -> Response:
    return Response(status_code=200)


async def _version(request: Request) -> Response:
    return JSONResponse({"version": VERSION})


def create_sim_app(config: SimConfig) -> Starlette:
    sim = Simulator(config)
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", sim.chat, methods=["POST"]),
            Route("/v1/models", sim.models, methods=["GET"]),
            Route("/health", _health, methods=["GET"]),
            Route("/version", _version, methods=["GET"]),
            Route("/metrics", sim.get_metrics, methods=["GET"]),
            Route("/sim/config", sim.get_config, methods=["GET"]),
            Route("/sim/config", sim.put_config, methods=["PUT"]),
            Route("/sim/stats", sim.get_stats, methods=["GET"]),
        ]
    )
    app.state.sim = sim
    return app
