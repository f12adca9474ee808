"""`Verdict`: what an environment found when it judged one step, as a typed value.

Environments put a JSON-ready dict in ``info["verdict"]`` (Gymnasium's checker compares
infos, and trajectories store them as JSON); every reader outside the environment
decodes it once with `Verdict.of` instead of reading ``.get("status")`` piecemeal.

Like `sandgym.errors`, this module imports nothing of sandgym, so every layer may use
it: environments write verdicts, agents record them, rollouts and training read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["STATUSES", "Verdict"]

STATUSES = ("pass", "fail", "error", "timeout", "running", "sandbox_error")
"""Statuses sandgym's own envs give; third-party envs may use others (kept as given)."""


@dataclass(frozen=True)
class Verdict:
    """The structured verdict of one step.

    Attributes:
        status: ``pass`` | ``fail`` | ``error`` | ``timeout`` | ``running`` |
            ``sandbox_error`` (or an env's own word); ``""`` when the env gave none.
        outcome: the family's finer outcome (e.g. ``failing_tests``, ``syntax_error``).
        passed: tests or checks passed, when the env counts them.
        total: tests or checks run.
        detail: a short explanation (e.g. what broke in the sandbox).
        extra: every other key the env put in the verdict, untouched.

    Example:
        >>> v = Verdict.of({"status": "pass", "passed": 3, "total": 3, "tests": ["pass"]})
        >>> v.ok, v.passed, v.extra["tests"]
        (True, 3, ['pass'])
        >>> Verdict.of(None).status
        ''
    """

    status: str = ""
    outcome: str | None = None
    passed: int | None = None
    total: int | None = None
    detail: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, raw: Mapping[str, Any] | Verdict | None) -> Verdict:
        """Decode an ``info["verdict"]`` dict (None or {} gives an empty verdict)."""
        if isinstance(raw, Verdict):
            return raw
        data = dict(raw or {})
        return cls(status=str(data.pop("status", "") or ""), outcome=data.pop("outcome", None),
                   passed=data.pop("passed", None), total=data.pop("total", None),
                   detail=data.pop("detail", None), extra=data)

    @property
    def ok(self) -> bool:
        """Whether the step passed (``status == "pass"``)."""
        return self.status == "pass"

    @property
    def sandbox_error(self) -> bool:
        """Whether the infrastructure failed (never the model's fault)."""
        return self.status == "sandbox_error"

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict an env puts in ``info["verdict"]`` (None fields left out)."""
        out: dict[str, Any] = {"status": self.status}
        for name in ("outcome", "passed", "total", "detail"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out.update(self.extra)
        return out
