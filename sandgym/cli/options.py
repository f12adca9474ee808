"""CLI options generated from config dataclasses: help text and defaults written once.

A config dataclass (`sandgym.train.grpo.GRPORunConfig`, `sandgym.rollouts.RolloutConfig`)
already has, per field, a default, a ``help`` in its metadata and validation in
``__post_init__``. `config_options` turns its fields into Typer options of a command,
builds the config from them (a validation error becomes a usage error with the
message), and passes it to the command as ``config``. A field's metadata may name the
option (``"cli": "--env"`` or ``"--lora/--full"``); dict-valued fields are left out
(``--env-arg KEY=VALUE`` fills ``env_kwargs``).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any, Optional

import typer

__all__ = ["ENV_ARG_HELP", "PLAYED_ENV_ARG_HELP", "config_options", "parse_env_args"]

ENV_ARG_HELP = ("KEY=VALUE keyword argument for gymnasium.make (VALUE as JSON when it "
                "parses, e.g. reward_mode=graded, tasks=my.jsonl, timeout_s=3); repeatable.")
PLAYED_ENV_ARG_HELP = (ENV_ARG_HELP[:-1] + ". VALUE policy:SPEC injects a policy as another "
                       "party of the episode, e.g. user=policy:default (a tool env's "
                       "simulated user played by the bundled model).")


def parse_env_args(items: Iterable[str]) -> dict[str, Any]:
    """``["k=v", ...]`` → ``{"k": v}``, each value JSON-decoded when it parses.

    Example:
        >>> parse_env_args(["reward_mode=graded", "timeout_s=3"])
        {'reward_mode': 'graded', 'timeout_s': 3}
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--env-arg")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def _plain(annotation: Any) -> tuple[Any, bool]:
    """(the type, whether None is allowed) of ``X`` or ``X | None``."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else str), True
    return annotation, False


def config_options(cls: type, *, skip: Iterable[str] = ()) -> Callable[[Callable], Callable]:
    """Decorate a command taking ``config: cls`` so Typer sees one option per field.

    Args:
        cls: the config dataclass.
        skip: field names the command sets itself (not options).
    """
    skipped = set(skip)
    hints = typing.get_type_hints(cls)
    options: list[inspect.Parameter] = []
    names: list[str] = []
    for f in dataclasses.fields(cls):
        kind, nullable = _plain(hints[f.name])
        if f.name in skipped or kind not in (str, int, float, bool):
            continue
        default = f.default
        assert default is not dataclasses.MISSING, f"{cls.__name__}.{f.name} needs a default"
        flag = f.metadata.get("cli") or "--" + f.name.replace("_", "-")
        if kind is bool and "/" not in flag:
            flag = f"{flag}/--no-{flag[2:]}"
        annotation = Optional[kind] if nullable else kind  # noqa: UP045 - Typer reads it
        option = typer.Option(default, flag, help=f.metadata.get("help", ""), show_default=True)
        options.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY,
                                         default=option, annotation=annotation))
        names.append(f.name)

    def decorate(command: Callable) -> Callable:
        resolved = typing.get_type_hints(command, include_extras=True)
        own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY,
                         annotation=resolved.get(p.name, p.annotation))
               for p in inspect.signature(command).parameters.values() if p.name != "config"]

        @functools.wraps(command)
        def wrapper(**values: Any) -> Any:
            fields = {n: values.pop(n) for n in names}
            try:
                config = cls(**fields)
            except ValueError as e:
                raise typer.BadParameter(str(e)) from e
            return command(config=config, **values)

        wrapper.__signature__ = inspect.Signature(own + options)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in own + options}
        return wrapper

    return decorate
