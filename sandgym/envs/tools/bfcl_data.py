"""BFCL multi-turn data from the ``bfcl-eval`` wheel (Apache-2.0), installed ``--no-deps``.

The wheel ships its tasks (``data/BFCL_v4_multi_turn_<category>.json``), their gold
answers (``data/possible_answer/...``: one list of Python-call strings per user turn)
and the function docs of its API classes (``data/multi_turn_func_doc/*.json``). Only
these data files are read here; the API classes themselves are imported on demand by
`bfcl_api`. Gold strings are parsed with `ast` (never ``eval``): a call whose
arguments are not literals cannot be replayed safely and is reported instead.
"""

from __future__ import annotations

import ast
import functools
import json
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from sandgym.envs.errors import EnvError

__all__ = ["ADDED_FUNCTIONS_PROMPT", "BFCL_CATEGORIES", "BFCL_DISTRIBUTION", "BFCL_VERSION",
           "BFCLTask", "GoldCall", "bfcl_data_dir", "bfcl_tasks", "function_docs",
           "parse_gold_call"]

BFCL_DISTRIBUTION = "bfcl-eval"
BFCL_VERSION = "2026.3.23"
BFCL_CATEGORIES = ("base", "miss_param", "long_context", "miss_func")
"""Categories sandgym plays. ``miss_param`` adds turns whose gold is empty (the request
lacks a parameter: the agent must not act) answered by a later turn; ``long_context``
loads the classes with BFCL's long states; ``miss_func`` withholds functions until a
later turn (whose user message is empty: BFCL then says it added functions)."""
ADDED_FUNCTIONS_PROMPT = "I have updated some more functions you can choose from. What about now?"
"""BFCL's user message at a ``miss_func`` turn that releases withheld functions."""


def bfcl_data_dir() -> Path:
    """The wheel's ``bfcl_eval/data`` directory.

    Raises:
        EnvError: the wheel is not installed (the message says how to install it).
    """
    try:
        dist = metadata.distribution(BFCL_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise EnvError(f"BFCL data needs the {BFCL_DISTRIBUTION} wheel: pip install --no-deps "
                       f"{BFCL_DISTRIBUTION}=={BFCL_VERSION} (scripts/setup.sh does)") from None
    path = Path(str(dist.locate_file("bfcl_eval/data")))
    if not (path / "multi_turn_func_doc").is_dir():
        raise EnvError(f"{BFCL_DISTRIBUTION} {dist.version} has no multi-turn data at {path}")
    return path


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@functools.cache
def function_docs(doc_file: str) -> tuple[dict[str, Any], ...]:
    """The function docs of one API class (its ``multi_turn_func_doc`` file)."""
    return tuple(_jsonl(bfcl_data_dir() / "multi_turn_func_doc" / doc_file))


@dataclass(frozen=True)
class GoldCall:
    """One parsed gold call: the method name, positional and keyword literal arguments."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    source: str = ""


def parse_gold_call(text: str) -> GoldCall:
    """Parse ``name(arg, key=value)`` with literal arguments.

    Raises:
        ValueError: not a single call of a plain name with literal arguments.
    """
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as e:
        raise ValueError(f"not Python: {e.msg}") from None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ValueError("not a call of a plain function name")
    try:
        args = tuple(ast.literal_eval(a) for a in node.args)
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    except ValueError as e:
        raise ValueError(f"non-literal argument ({e})") from None
    if None in kwargs:
        raise ValueError("**kwargs are not allowed")
    return GoldCall(node.func.id, args, kwargs, text)


@dataclass(frozen=True)
class BFCLTask:
    """One BFCL multi-turn task.

    ``turns`` holds the user's message of each turn; ``gold`` the gold call strings of
    each turn (as BFCL writes them).
    """

    id: str
    category: str
    turns: tuple[str, ...]
    initial_config: dict[str, Any]
    involved_classes: tuple[str, ...]
    excluded_functions: tuple[str, ...]
    gold: tuple[tuple[str, ...], ...]
    withheld: tuple[tuple[int, tuple[str, ...]], ...] = ()
    """``miss_func``: (turn, functions) pairs; each function is offered from that turn on."""

    def withheld_until(self, turn: int) -> tuple[str, ...]:
        """The functions not yet offered during ``turn``."""
        return tuple(name for at, names in self.withheld if at > turn for name in names)

    def released_at(self, turn: int) -> tuple[str, ...]:
        """The functions first offered at ``turn``."""
        return tuple(name for at, names in self.withheld if at == turn for name in names)


def _turn_text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")


def bfcl_tasks(category: str = "base") -> list[BFCLTask]:
    """Every task of a multi-turn category, paired with its gold answer (not yet validated)."""
    if category not in BFCL_CATEGORIES:
        raise EnvError(f"BFCL multi-turn category {category!r} is not supported; choose from "
                       f"{list(BFCL_CATEGORIES)}")
    root = bfcl_data_dir()
    name = f"BFCL_v4_multi_turn_{category}.json"
    answers = {r["id"]: r["ground_truth"] for r in _jsonl(root / "possible_answer" / name)}
    out = []
    for record in _jsonl(root / name):
        gold = answers.get(record["id"], [])
        out.append(BFCLTask(
            id=record["id"], category=category,
            turns=tuple(_turn_text(q) for q in record["question"]),
            initial_config=record.get("initial_config") or {},
            involved_classes=tuple(record.get("involved_classes") or ()),
            excluded_functions=tuple(record.get("excluded_function") or ()),
            gold=tuple(tuple(turn) for turn in gold),
            withheld=tuple(sorted((int(k), tuple(v)) for k, v in
                                  (record.get("missed_function") or {}).items()))))
    return out
