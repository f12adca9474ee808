"""Simulated users: a scripted one (tests, CI) and one played by any LLM policy.

A user opens the conversation (`start`) and answers each agent message (`reply`);
it ends the conversation by saying `STOP`. `LLMUser` takes the model as an injected
text-in/text-out callable (messages -> text), so ``envs`` never imports ``agents``.

The premature-stop guard (τ²-bench's known failure: the simulated user ends the
conversation before the agent has acted): when the user wants to stop on a task that
needs a write and the agent has made none, `LLMUser` is asked again with a reminder,
at most ``max_reminders`` times; if it still stops, the stop stands and is marked
`premature_stop` so the episode's failure is labelled ``user_simulator``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from sandgym.envs.tools.tasks import ToolTask

logger = logging.getLogger(__name__)

__all__ = ["STOP", "LLMUser", "ScriptedUser", "UserModel", "UserSimulator"]

STOP = "###STOP###"
"""What a user says to end the conversation."""

UserModel = Callable[[list[dict[str, str]]], str]
"""A chat model as a function: messages (role, content) -> the reply's text."""

_GUIDELINES = (
    "You are playing a customer talking to a customer-service agent. Stay in character; "
    "say only what a customer would. Reveal information only when the agent asks for "
    "it. Do not invent facts that are not in your scenario. When your request has been "
    "fully handled, or the agent cannot help, reply with exactly " + STOP + ".")
_REMINDER = (
    "Reminder: the agent has not done what you asked yet. Do not end the conversation; "
    "tell the agent what you still need, or confirm (yes) if they asked you to.")


class UserSimulator(Protocol):
    """A user in a tool episode."""

    premature_stop: bool

    def start(self, task: ToolTask) -> str:
        """The user's first message."""
        ...

    def reply(self, conversation: list[dict[str, str]], *, may_stop: bool = True) -> str:
        """Answer the agent's last message; ``may_stop`` is False while the guard holds."""
        ...


class ScriptedUser:
    """Says the task's instruction, then its ``user_script`` lines in order, then `STOP`.

    Deterministic: the same agent messages always get the same replies.

    Example:
        >>> from sandgym.envs.tools.tasks import task_from_dict
        >>> user = ScriptedUser()
        >>> user.start(task_from_dict({"id": "a", "instruction": "Hi", "user_script": ["yes"]}))
        'Hi'
        >>> user.reply([]), user.reply([])
        ('yes', '###STOP###')
    """

    def __init__(self) -> None:
        self._lines: list[str] = []
        self.premature_stop = False

    def start(self, task: ToolTask) -> str:
        """The instruction."""
        self._lines = list(task.user_script)
        self.premature_stop = False
        return task.instruction

    def reply(self, conversation: list[dict[str, str]], *, may_stop: bool = True) -> str:
        """The next scripted line, or `STOP`."""
        return self._lines.pop(0) if self._lines else STOP


class LLMUser:
    """A user played by a chat model, with the task's scenario and a premature-stop guard.

    Args:
        model: the user model (messages -> text); e.g. a sandgym policy wrapped by
            the caller.
        max_reminders: how many times a premature stop is sent back with a reminder.
    """

    def __init__(self, model: UserModel, *, max_reminders: int = 2) -> None:
        self.model = model
        self.max_reminders = max_reminders
        self.reminders_used = 0
        self.premature_stop = False
        self._system = ""

    def start(self, task: ToolTask) -> str:
        """The scenario becomes the user's system prompt; the first message is the instruction."""
        self.reminders_used = 0
        self.premature_stop = False
        self._system = f"{_GUIDELINES}\n\nYour scenario:\n{task.user_scenario or task.instruction}"
        return task.instruction

    def _ask(self, conversation: list[dict[str, str]], extra: str | None) -> str:
        # the user model plays the assistant role; the agent's messages are its input
        flipped = [{"role": "system", "content": self._system + (f"\n\n{extra}" if extra else "")}]
        flipped += [{"role": "user" if m["role"] == "assistant" else "assistant",
                     "content": m["content"]} for m in conversation]
        return str(self.model(flipped)).strip()

    def reply(self, conversation: list[dict[str, str]], *, may_stop: bool = True) -> str:
        """The model's reply; a stop while ``may_stop`` is False is retried with a reminder."""
        text = self._ask(conversation, None)
        while STOP in text and not may_stop and self.reminders_used < self.max_reminders:
            self.reminders_used += 1
            text = self._ask(conversation, _REMINDER)
        if STOP in text:
            self.premature_stop = not may_stop
            return STOP
        return text or "(the user said nothing)"


def make_user(user: Any) -> UserSimulator:
    """``"scripted"``, a `UserModel` callable (an `LLMUser`), or a ready simulator."""
    if user is None or user == "scripted":
        return ScriptedUser()
    if hasattr(user, "start") and hasattr(user, "reply"):
        return user
    if callable(user):
        return LLMUser(user)
    raise ValueError(f"user must be 'scripted', a model callable or a simulator, got {user!r}")
