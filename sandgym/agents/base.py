"""The policy interface: chat conversations in, `Generation`s out.

A policy maps a batch of chat conversations (lists of ``{"role", "content"}`` dicts) to
one reply each. It knows nothing of environments (DESIGN.md, layering), which is what
lets the same policy drive a code env, a tool env or a chat in the terminal, and lets
`run_episodes` batch many environments' turns into one `generate` call.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Conversation",
    "code_block_end",
    "FinishReason",
    "Generation",
    "Message",
    "Policy",
    "SamplingParams",
    "truncate_at_stop",
]

Message = dict[str, Any]
"""One chat message: ``{"role": "system" | "user" | "assistant", "content": str}``."""

Conversation = Sequence[Message]
"""The messages a policy replies to, oldest first."""

FinishReason = Literal["stop", "length"]
"""Why a generation ended: an end-of-turn token or stop string, or the token budget."""


@dataclass
class SamplingParams:
    """How to sample a reply; the same fields mean the same thing for every policy.

    Example:
        >>> params = SamplingParams(temperature=0.0, max_new_tokens=64, stop=["\\n\\n\\n"])
        >>> params.stop, params.seed, params.stop_after_code_block
        (['\\n\\n\\n'], None, False)
    """

    temperature: float = field(default=0.0, metadata={
        "help": "Softmax temperature; 0.0 means greedy decoding (deterministic)."})
    top_p: float = field(default=1.0, metadata={
        "help": "Nucleus sampling mass in (0, 1]; 1.0 keeps every token. Ignored when greedy."})
    max_new_tokens: int = field(default=256, metadata={
        "help": "Upper bound on generated tokens per reply (finish_reason 'length' when hit)."})
    stop: list[str] = field(default_factory=list, metadata={
        "help": "Strings that end the reply; the text is cut before the first one."})
    seed: int | None = field(default=None, metadata={
        "help": "Seed for sampling, for reproducible non-greedy replies; None draws fresh."})
    stop_after_code_block: bool = field(default=False, metadata={
        "help": "End the reply right after its first complete fenced code block (```...```): "
        "what a code env grades is there, and the prose a small model writes after it "
        "costs half the tokens."})

    def __post_init__(self) -> None:
        if isinstance(self.stop, str):
            self.stop = [self.stop]
        self.stop = list(self.stop)
        if not isinstance(self.temperature, (int, float)) or math.isnan(self.temperature) \
                or self.temperature < 0:
            raise ValueError(f"temperature must be a number >= 0 (0.0 = greedy), got "
                             f"{self.temperature!r}; use 0.0 for greedy or e.g. 0.7 to sample")
        if not isinstance(self.top_p, (int, float)) or not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p!r}; use 1.0 to keep "
                             "the whole distribution")
        if isinstance(self.max_new_tokens, bool) or not isinstance(self.max_new_tokens, int) \
                or self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be an int >= 1, got {self.max_new_tokens!r}; "
                             "e.g. max_new_tokens=256")
        for s in self.stop:
            if not isinstance(s, str) or not s:
                raise ValueError(f"stop must be a list of non-empty strings, got {self.stop!r}; "
                                 "remove empty entries")
        if self.seed is not None and (isinstance(self.seed, bool)
                                      or not isinstance(self.seed, int)):
            raise ValueError(f"seed must be an int or None, got {self.seed!r}")

    @property
    def greedy(self) -> bool:
        """Whether this is greedy (argmax) decoding."""
        return self.temperature == 0.0


@dataclass
class Generation:
    """One reply of a policy.

    Attributes:
        text: the reply as the environment sees it: no end-of-turn token, cut before a
            stop string.
        token_ids: the generated token ids, in the order produced, including the
            end-of-turn token when the model wrote one (it is a model decision a trainer
            should learn). Empty when the policy has no tokens (scripted, or a server
            that does not return them).
        logprobs: one log-probability per entry of ``token_ids`` under the model's raw
            distribution (temperature 1, no top-p), i.e. what a forward pass of the same
            model gives; empty when unknown. A server that sends logprobs but no token
            ids yields logprobs per server token with ``token_ids`` empty.
        finish_reason: ``"stop"`` (end-of-turn token or stop string) or ``"length"``.
        prompt_token_ids: the tokens the model conditioned on, when known.
    """

    text: str
    token_ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    finish_reason: FinishReason = "stop"
    prompt_token_ids: list[int] | None = None


class Policy(ABC):
    """Maps a batch of chat conversations to one `Generation` each.

    Subclasses implement `generate`; they may expose a Hugging Face ``tokenizer`` (with a
    chat template) so the episode loop can build a token-level loss mask. Policies hold
    resources (a model, an HTTP client): use them as context managers or call `close`.

    Example:
        >>> from sandgym.agents import ScriptedPolicy
        >>> with ScriptedPolicy(["hello"]) as policy:
        ...     policy.generate([[{"role": "user", "content": "hi"}]])[0].text
        'hello'
    """

    name: str = "policy"

    @property
    def tokenizer(self) -> Any | None:
        """A Hugging Face tokenizer with the chat template this policy uses, or None."""
        return None

    @abstractmethod
    def generate(self, conversations: Sequence[Conversation],
                 sampling: SamplingParams | None = None) -> list[Generation]:
        """Reply to every conversation.

        Args:
            conversations: chat message lists, one per reply wanted.
            sampling: decoding settings; None means `SamplingParams()` (greedy).

        Returns:
            One `Generation` per conversation, in the same order.
        """

    def close(self) -> None:  # noqa: B027 - optional hook, most policies hold nothing
        """Release what the policy holds; calling it twice is harmless."""

    def __enter__(self) -> Policy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


FENCE = "```"


def code_block_end(text: str) -> int | None:
    """Index just past the first complete fenced code block of ``text`` (None: none yet).

    A fence opens a block only at the start of a line; the block closes at the next
    fence at the start of a line, and ends with that fence. Used to stop generation after
    the code a code env grades (`SamplingParams.stop_after_code_block`).

    Example:
        >>> text = "Sure:\\n```python\\nx = 1\\n```\\nThis sets x."
        >>> text[:code_block_end(text)]
        'Sure:\\n```python\\nx = 1\\n```'
    """
    opening = _fence_at_line_start(text, 0)
    if opening < 0:
        return None
    body = text.find("\n", opening)
    if body < 0:
        return None
    closing = _fence_at_line_start(text, body + 1)
    if closing < 0:
        return None
    return closing + len(FENCE)


def _fence_at_line_start(text: str, start: int) -> int:
    """Position of the first ``` at or after ``start`` that begins a line (-1: none)."""
    pos = text.find(FENCE, start)
    while pos >= 0:
        line_start = text.rfind("\n", 0, pos) + 1
        if not text[line_start:pos].strip():
            return pos
        pos = text.find(FENCE, pos + len(FENCE))
    return -1


def truncate_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Cut ``text`` before the earliest stop string.

    Returns:
        The text before the first stop string (all of it when none occurs), and whether
        a stop string was found.
    """
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)
