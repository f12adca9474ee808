"""The policy interface: chat conversations in, `Generation`s out.

A policy maps a batch of chat conversations (lists of ``{"role", "content"}`` dicts) to
one reply each. It knows nothing of environments (DESIGN.md, layering), which is what
lets the same policy drive a code env, a tool env or a chat in the terminal, and lets
`run_episodes` batch many environments' turns into one `generate` call.
"""

from __future__ import annotations

import math
import re
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


_OPENING_FENCE = re.compile(r"[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+#.-]*)")
_CODE_TAGS = frozenset({"python", "py", "python3", "py3", ""})


def code_block_end(text: str) -> int | None:
    """Index just past the first complete Python (or untagged) fenced block (None: none yet).

    The same rule a code env's grader reads a reply by: a block opens on a line that
    starts (after spaces/tabs) with ``` or ~~~ (three or more) and an optional language
    tag, and closes on the first later line that is exactly that fence. Blocks tagged
    with another language (a ``bash`` install line, a ``text`` sample) are passed over,
    so stopping there never cuts off the code that is graded. Used to end generation
    after the code (`SamplingParams.stop_after_code_block`). Linear in ``len(text)``.

    Example:
        >>> text = "Run:\\n```bash\\npip x\\n```\\n```python\\nx = 1\\n```\\nThis sets x."
        >>> text[:code_block_end(text)]
        'Run:\\n```bash\\npip x\\n```\\n```python\\nx = 1\\n```'
    """
    fence: str | None = None
    lang = ""
    start, size = 0, len(text)
    while start <= size:
        end = text.find("\n", start)
        if end < 0:
            end = size
        if fence is None:
            match = _OPENING_FENCE.match(text, start, end)
            if match is not None and end < size:  # an opening line needs its newline
                fence, lang = match.group("fence"), match.group("lang").lower()
        elif text[start:end].strip(" \t") == fence:
            if lang in _CODE_TAGS:
                return end
            fence = None
        start = end + 1
    return None


def truncate_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Cut ``text`` before the earliest stop string.

    Returns:
        The text before the first stop string (all of it when none occurs), and whether
        a stop string was found.
    """
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)
