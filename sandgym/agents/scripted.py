"""`ScriptedPolicy`: deterministic replies from a function or a fixed list.

Used by tests, by oracles (the eval CLI's ``canonical`` policy replies with each
task's reference solution) and by anything that needs an episode without a model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sandgym.agents.base import Conversation, Generation, Policy, SamplingParams
from sandgym.agents.errors import ScriptExhaustedError

__all__ = ["ScriptedPolicy"]

ReplyFn = Callable[[list[dict]], "str | Generation"]


class ScriptedPolicy(Policy):
    """Replies from a script instead of a model.

    With a list, the reply to a conversation is chosen by the number of assistant
    messages it already holds: turn 0 gets ``replies[0]``, turn 1 ``replies[1]``... So
    one policy serves many episodes in a batch, each at its own turn, with no shared
    counter. With a function, the reply is ``fn(messages)`` (a str or a `Generation`).

    Args:
        replies: a list of reply texts, or a function of the conversation.
        name: recorded in trajectories.
        cycle: with a list, wrap around instead of raising when the turns outnumber it.

    Raises:
        ScriptExhaustedError: from `generate`, when a list runs out and ``cycle`` is off.

    Example:
        >>> policy = ScriptedPolicy(["first", "second"])
        >>> conv = [{"role": "user", "content": "go"}]
        >>> policy.generate([conv])[0].text
        'first'
        >>> conv += [{"role": "assistant", "content": "first"},
        ...          {"role": "user", "content": "again"}]
        >>> policy.generate([conv])[0].text
        'second'
    """

    def __init__(self, replies: Sequence[str] | ReplyFn, *, name: str = "scripted",
                 cycle: bool = False) -> None:
        if isinstance(replies, str):
            raise TypeError("replies must be a list of strings or a function, not one string; "
                            "wrap it: ScriptedPolicy([text])")
        if not callable(replies):
            replies = list(replies)
            if not replies:
                raise ValueError("ScriptedPolicy needs at least one reply")
            bad = [r for r in replies if not isinstance(r, str)]
            if bad:
                raise TypeError(f"replies must be strings, got {bad[0]!r}")
        self._replies = replies
        self.name = name
        self.cycle = cycle

    def generate(self, conversations: Sequence[Conversation],
                 sampling: SamplingParams | None = None) -> list[Generation]:
        """Reply to each conversation from the script; ``sampling`` is ignored."""
        return [self._reply(list(c)) for c in conversations]

    def _reply(self, conversation: list[dict]) -> Generation:
        if callable(self._replies):
            out = self._replies(conversation)
            if isinstance(out, Generation):
                return out
            if not isinstance(out, str):
                raise TypeError(f"the reply function of ScriptedPolicy {self.name!r} returned "
                                f"{type(out).__name__}; it must return a str or a Generation")
            return Generation(text=out)
        turn = sum(1 for m in conversation if m.get("role") == "assistant")
        if turn >= len(self._replies) and not self.cycle:
            raise ScriptExhaustedError(
                f"ScriptedPolicy {self.name!r} has {len(self._replies)} replies but the "
                f"conversation asks for reply {turn + 1}; give more replies, pass cycle=True, "
                "or lower max_turns")
        return Generation(text=self._replies[turn % len(self._replies)])
