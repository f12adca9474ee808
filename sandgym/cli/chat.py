"""`sandgym chat --env ID`: play an environment from the terminal.

Shows exactly what a policy sees (system prompt, observations) and what the
environment answers (reward, verdict), which is the quickest way to understand or
debug an environment. With ``--policy`` a model plays and you watch.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

_END = "."


def register(root: typer.Typer) -> None:
    """Attach `sandgym chat` to the root app."""
    root.command("chat")(chat)


def chat(
    env: str = typer.Option(..., "--env", help="Environment id, e.g. sandgym/HumanEval-v0."),
    task_id: str | None = typer.Option(None, help="Task to play (default: drawn by seed)."),
    seed: int | None = typer.Option(None, help="Seed for env.reset."),
    max_turns: int = typer.Option(10, help="Most replies before the episode is cut."),
    policy: str | None = typer.Option(
        None, help="Let a policy play instead of you: 'default', 'openai:URL#MODEL' or a "
        "model directory."),
    max_new_tokens: int = typer.Option(512, help="Token budget per reply with --policy."),
) -> None:
    """Play an environment turn by turn; end each reply with a line holding only '.'."""
    environment = _make_env(env)
    player = None
    if policy is not None:
        from sandgym.agents import SamplingParams, policy_from_spec

        player = policy_from_spec(policy)
        sampling = SamplingParams(max_new_tokens=max_new_tokens)
    try:
        obs, info = environment.reset(seed=seed,
                                      options=None if task_id is None else {"task_id": task_id})
        messages: list[dict[str, Any]] = []
        system = getattr(environment.unwrapped, "system_prompt", None)
        if system:
            messages.append({"role": "system", "content": str(system)})
            _show("system", str(system))
        typer.echo(f"[task {info.get('task_id', '?')}]")
        total = 0.0
        for turn in range(max_turns):
            messages.append({"role": "user", "content": str(obs)})
            _show("environment", str(obs))
            if player is not None:
                action = player.generate([messages], sampling)[0].text
                _show("policy", action)
            else:
                action = _read_reply()
                if action is None:
                    typer.echo("(end of input: episode abandoned)")
                    raise typer.Exit(1)
            messages.append({"role": "assistant", "content": action})
            obs, reward, terminated, truncated, info = environment.step(action)
            total += float(reward)
            typer.echo(f"[reward {float(reward):g}  verdict "
                       f"{json.dumps(info.get('verdict', {}), default=str)}]")
            if info.get("sandbox_error") or terminated or truncated:
                _show("environment", str(obs))
                state = ("sandbox error (not scored)" if info.get("sandbox_error")
                         else "terminated" if terminated else "truncated")
                typer.echo(f"[episode over: {state}; return {total:g} after {turn + 1} turns]")
                return
        typer.echo(f"[episode cut after {max_turns} turns; return {total:g}]")
    finally:
        environment.close()
        if player is not None:
            player.close()


def _make_env(env_id: str) -> Any:
    import gymnasium

    try:
        import sandgym.envs  # noqa: F401  (registers the sandgym/ environments)
    except ImportError:
        pass
    try:
        return gymnasium.make(env_id)
    except gymnasium.error.Error as e:
        raise typer.BadParameter(f"{e} (see `sandgym envs list`)", param_hint="--env") from e


def _show(who: str, text: str) -> None:
    typer.secho(f"--- {who} ---", bold=True)
    typer.echo(text)


def _read_reply() -> str | None:
    """Lines from stdin up to a line holding only '.', or EOF; None at EOF with no text."""
    typer.secho(f"--- you (end with a line '{_END}') ---", bold=True)
    lines: list[str] = []
    for line in sys.stdin:
        if line.rstrip("\r\n") == _END:
            return "\n".join(lines)
        lines.append(line.rstrip("\r\n"))
    return "\n".join(lines) if lines else None
