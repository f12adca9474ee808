"""`OpenAIPolicy`: any OpenAI-compatible chat-completions server as a policy.

vLLM, ``transformers serve``, llama.cpp's server and hosted APIs all speak
``POST {base}/chat/completions``. A batch of conversations becomes concurrent requests
(bounded by ``max_concurrency``), so a server with continuous batching sees the whole
batch at once. Transient failures (429, 5xx, refused or dropped connections, timeouts)
are retried a bounded number of times with jittered exponential backoff; client errors
(wrong URL, wrong model name, bad key) fail at once with a message that says the fix.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import random
from collections.abc import Sequence
from typing import Any

from sandgym.agents.base import (
    Conversation,
    Generation,
    Policy,
    SamplingParams,
    code_block_end,
    truncate_at_stop,
)
from sandgym.agents.errors import PolicyServerError

__all__ = ["OpenAIPolicy"]

logger = logging.getLogger(__name__)

_RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class OpenAIPolicy(Policy):
    """A policy served over HTTP by an OpenAI-compatible chat-completions server.

    Args:
        base_url: the API root, e.g. ``http://127.0.0.1:8000/v1`` (a trailing
            ``/chat/completions`` is tolerated).
        model: the served model's name (``GET {base_url}/models`` lists them).
        api_key: sent as a bearer token; default ``$OPENAI_API_KEY``, none if unset.
        max_concurrency: most requests in flight at once.
        timeout_s: per-request read timeout (a long generation on a busy server).
        connect_timeout_s: how long to wait for a connection.
        max_retries: retries after the first attempt, for 429/5xx/connection errors.
        backoff_s: first retry delay; doubles each retry (with jitter), capped at
            ``max_backoff_s``; a ``Retry-After`` header is honoured up to that cap.
        max_backoff_s: see ``backoff_s``.
        logprobs: ask for per-token logprobs (servers that cannot give them ignore it).
        tokenizer: optional tokenizer of the served model, to fill ``token_ids`` and
            prompt ids when the server returns none and to enable the episode loss mask.
        extra_body: extra JSON fields for every request, e.g. vLLM's
            ``{"return_tokens_as_token_ids": True}`` to receive exact token ids.
        name: recorded in trajectories; default ``openai:<model>``.

    Example:
        >>> policy = OpenAIPolicy("http://127.0.0.1:8000/v1", "my-model")  # doctest: +SKIP
        >>> policy.generate([[{"role": "user", "content": "hi"}]])[0].text  # doctest: +SKIP
        'Hello! How can I help?'
    """

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None,
                 max_concurrency: int = 8, timeout_s: float = 300.0,
                 connect_timeout_s: float = 10.0, max_retries: int = 3, backoff_s: float = 0.5,
                 max_backoff_s: float = 30.0, logprobs: bool = True,
                 tokenizer: Any | None = None, extra_body: dict[str, Any] | None = None,
                 name: str | None = None) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}; "
                             "e.g. http://127.0.0.1:8000/v1")
        if not model:
            raise ValueError("model must be the served model's name (see GET /v1/models)")
        if max_concurrency < 1 or max_retries < 0 or timeout_s <= 0 or backoff_s < 0:
            raise ValueError("need max_concurrency >= 1, max_retries >= 0, timeout_s > 0, "
                             f"backoff_s >= 0; got {max_concurrency}, {max_retries}, "
                             f"{timeout_s}, {backoff_s}")
        base_url = base_url.rstrip("/")
        if base_url.endswith("/chat/completions"):
            base_url = base_url[: -len("/chat/completions")]
        self.base_url = base_url
        self.model = model
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.max_concurrency = max_concurrency
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.request_logprobs = logprobs
        self.extra_body = dict(extra_body or {})
        self.name = name or f"openai:{model}"
        self._tokenizer = tokenizer

    @property
    def tokenizer(self) -> Any | None:
        """The tokenizer given at construction, if any."""
        return self._tokenizer

    # -- public API ------------------------------------------------------------------

    def generate(self, conversations: Sequence[Conversation],
                 sampling: SamplingParams | None = None) -> list[Generation]:
        """Reply to every conversation (blocking); see `agenerate` for async callers.

        Raises:
            PolicyServerError: the server could not be reached, or refused a request.
        """
        coro = self.agenerate(conversations, sampling)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coro)
        # Called from inside an event loop (a notebook, an async app): run on a thread.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, coro).result()

    async def agenerate(self, conversations: Sequence[Conversation],
                        sampling: SamplingParams | None = None) -> list[Generation]:
        """Reply to every conversation with up to ``max_concurrency`` requests in flight."""
        sampling = sampling or SamplingParams()
        if not conversations:
            return []
        semaphore = asyncio.Semaphore(self.max_concurrency)
        async with self._client() as client:

            async def one(conversation: Conversation) -> Generation:
                async with semaphore:
                    data = await self._post(client, self._body(conversation, sampling))
                return self._parse(data, conversation, sampling)

            return list(await asyncio.gather(*(one(c) for c in conversations)))

    def check(self) -> list[str]:
        """Verify the server answers and serves ``model``; return the served model ids.

        Raises:
            PolicyServerError: unreachable server, wrong URL, or model not served.
        """
        return asyncio.run(self._acheck())

    # -- HTTP ------------------------------------------------------------------------

    def _client(self) -> Any:
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        return httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(self.timeout_s, connect=self.connect_timeout_s),
            limits=httpx.Limits(max_connections=self.max_concurrency,
                                max_keepalive_connections=self.max_concurrency))

    def _body(self, conversation: Conversation, sampling: SamplingParams) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m["role"], "content": m["content"]} for m in conversation],
            "max_tokens": sampling.max_new_tokens,
            "temperature": float(sampling.temperature),
            "top_p": float(sampling.top_p),
        }
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        if self.request_logprobs:
            body["logprobs"] = True
        body.update(self.extra_body)
        return body

    async def _post(self, client: Any, body: dict[str, Any]) -> dict[str, Any]:
        import httpx

        url = f"{self.base_url}/chat/completions"
        problem = ""
        status: int | None = None
        for attempt in range(self.max_retries + 1):
            retry_after: float | None = None
            try:
                resp = await client.post(url, json=body)
            except httpx.TimeoutException as e:
                problem, status = f"timed out ({type(e).__name__})", None
            except httpx.TransportError as e:
                problem, status = f"connection failed ({type(e).__name__}: {e})", None
            else:
                status = resp.status_code
                if status == 200:
                    return self._json(resp, url)
                if status not in _RETRYABLE_STATUS:
                    raise await self._client_error(client, resp, url)
                problem = f"answered {status}: {_detail(resp)}"
                retry_after = _retry_after(resp)
            if attempt < self.max_retries:
                delay = self._delay(attempt, retry_after)
                logger.info("POST %s %s; retry %d/%d in %.2f s", url, problem, attempt + 1,
                            self.max_retries, delay)
                await asyncio.sleep(delay)
        hint = ("is the server running, and is the URL right (e.g. http://127.0.0.1:8000/v1)?"
                if status is None else "the server is overloaded or failing; check its log, "
                "lower max_concurrency, or raise max_retries")
        raise PolicyServerError(f"POST {url} {problem} after {self.max_retries + 1} attempts; "
                                f"{hint}", status_code=status, url=url)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_backoff_s)
        base = min(self.backoff_s * (2 ** attempt), self.max_backoff_s)
        return base * (0.5 + random.random() / 2)

    @staticmethod
    def _json(resp: Any, url: str) -> dict[str, Any]:
        try:
            data = resp.json()
            data["choices"][0]
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise PolicyServerError(f"POST {url} answered 200 but not a chat completion "
                                    f"({resp.text[:200]!r}); is this an OpenAI-compatible "
                                    "server?", status_code=200, url=url) from e
        return data

    async def _client_error(self, client: Any, resp: Any, url: str) -> PolicyServerError:
        """Explain a 4xx answer: wrong key, wrong URL or wrong model name."""
        status, detail = resp.status_code, _detail(resp)
        if status in (401, 403):
            return PolicyServerError(f"POST {url} answered {status} ({detail}): the server "
                                     "refused the API key; set OPENAI_API_KEY or api_key=",
                                     status_code=status, url=url)
        served = await self._served_models(client)
        if served is None and status == 404:
            return PolicyServerError(
                f"POST {url} answered 404 ({detail}) and GET {self.base_url}/models fails "
                f"too: {self.base_url!r} is not the API root of an OpenAI-compatible server; "
                "it usually ends in /v1, e.g. http://127.0.0.1:8000/v1",
                status_code=status, url=url)
        if served is not None and self.model not in served:
            return PolicyServerError(
                f"model {self.model!r} is not served at {self.base_url} (answer {status}: "
                f"{detail}); it serves {served}; use one of these names, e.g. "
                f"openai:{self.base_url}#{served[0] if served else 'MODEL'}",
                status_code=status, url=url)
        return PolicyServerError(f"POST {url} answered {status}: {detail}; check the request "
                                 "settings (model, sampling) against the server's docs",
                                 status_code=status, url=url)

    async def _served_models(self, client: Any) -> list[str] | None:
        import httpx

        try:
            resp = await client.get(f"{self.base_url}/models")
            if resp.status_code != 200:
                return None
            return [str(m["id"]) for m in resp.json().get("data", [])]
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError):
            return None

    async def _acheck(self) -> list[str]:
        import httpx

        async with self._client() as client:
            try:
                resp = await client.get(f"{self.base_url}/models")
            except httpx.HTTPError as e:
                raise PolicyServerError(
                    f"GET {self.base_url}/models failed ({type(e).__name__}: {e}); is the "
                    "server running, and is the URL right (e.g. http://127.0.0.1:8000/v1)?",
                    url=f"{self.base_url}/models") from e
            served = await self._served_models(client)
        if served is None:
            raise PolicyServerError(
                f"GET {self.base_url}/models answered {resp.status_code}: {self.base_url!r} is "
                "not the API root of an OpenAI-compatible server; it usually ends in /v1",
                status_code=resp.status_code, url=f"{self.base_url}/models")
        if self.model not in served:
            raise PolicyServerError(f"model {self.model!r} is not served at {self.base_url}; "
                                    f"it serves {served}; use one of these names",
                                    url=f"{self.base_url}/models")
        return served

    # -- parsing ---------------------------------------------------------------------

    def _parse(self, data: dict[str, Any], conversation: Conversation,
               sampling: SamplingParams) -> Generation:
        choice = data["choices"][0]
        raw = (choice.get("message") or {}).get("content") or ""
        # Some servers (transformers serve) keep the stop string; OpenAI drops it.
        text, stopped = truncate_at_stop(raw, sampling.stop)
        entries = ((choice.get("logprobs") or {}).get("content")) or []
        block_end = code_block_end(text) if sampling.stop_after_code_block else None
        if block_end is not None:
            # Servers cannot stop there, so the reply is cut here; the server's tokens
            # no longer match the text, so they are dropped (re-encoded below when a
            # tokenizer is known).
            text, stopped, entries = text[:block_end], True, []
        finish = "length" if choice.get("finish_reason") == "length" and not stopped else "stop"
        logprobs = [float(e["logprob"]) for e in entries if "logprob" in e]
        token_ids = _ids_from_tokens([e.get("token", "") for e in entries])
        prompt_ids = None
        if self._tokenizer is not None:
            prompt_ids = self._encode_prompt(conversation)
            if token_ids is None:
                token_ids = list(self._tokenizer(text, add_special_tokens=False)["input_ids"])
                if logprobs and len(logprobs) != len(token_ids):
                    logprobs = []  # the server's tokens do not line up with ours
        return Generation(text=text, token_ids=token_ids or [], logprobs=logprobs,
                          finish_reason=finish, prompt_token_ids=prompt_ids)

    def _encode_prompt(self, conversation: Conversation) -> list[int]:
        text = self._tokenizer.apply_chat_template(list(conversation), tokenize=False,
                                                   add_generation_prompt=True)
        return list(self._tokenizer(text, add_special_tokens=False)["input_ids"])


def _ids_from_tokens(tokens: list[str]) -> list[int] | None:
    """Token ids when the server sent tokens as ``token_id:N`` (vLLM option), else None."""
    if not tokens or not all(t.startswith("token_id:") for t in tokens):
        return None
    try:
        return [int(t.split(":", 1)[1]) for t in tokens]
    except ValueError:
        return None


def _detail(resp: Any) -> str:
    try:
        data = resp.json()
    except ValueError:
        return resp.text[:300] or resp.reason_phrase
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
        if data.get("detail"):
            return str(data["detail"])[:300]
    return str(data)[:300]


def _retry_after(resp: Any) -> float | None:
    value = resp.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
