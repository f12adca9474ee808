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
        None, help="Let a policy play instead of you: 'default', 'openai:URL#MODEL', a "
        "model directory or 'canonical'."),
    max_new_tokens: int = typer.Option(512, help="Token budget per reply with --policy."),
) -> None:
    """Play an environment turn by turn; end each reply with a line holding only '.'."""
    from sandgym.agents.recorder import StepRecorder

    environment = _make_env(env)
    player = None
    if policy is not None:
        from sandgym.agents import SamplingParams
        from sandgym.rollouts.policies import build_policy

        player = build_policy(policy, env=environment)
        sampling = SamplingParams(max_new_tokens=max_new_tokens)
    try:
        recorder = StepRecorder.reset(environment, task_id=task_id, seed=seed,
                                      policy=policy or "human")
        traj = recorder.trajectory
        for message in traj.messages[:-1]:
            _show("system", str(message["content"]))
        typer.echo(f"[task {traj.task_id or '?'}]")
        obs = recorder.first_observation
        for turn in range(max_turns):
            if turn:
                traj.messages.append({"role": "user", "content": obs})
            _show("environment", obs)
            if player is not None:
                action = player.generate([traj.messages], sampling)[0].text
                _show("policy", action)
            else:
                action = _read_reply()
                if action is None:
                    typer.echo("(end of input: episode abandoned)")
                    raise typer.Exit(1)
            traj.messages.append({"role": "assistant", "content": action})
            over = recorder.step(environment, action)
            obs = str(traj.final_observation)
            typer.echo(f"[reward {traj.rewards[-1]:g}  verdict "
                       f"{json.dumps(traj.verdicts[-1], default=str)}]")
            if over:
                _show("environment", obs)
                state = ("sandbox error (not scored)" if traj.sandbox_error
                         else "terminated" if traj.terminated else "truncated")
                typer.echo(f"[episode over: {state}; return {sum(traj.rewards):g} after "
                           f"{turn + 1} turns]")
                return
        typer.echo(f"[episode cut after {max_turns} turns; return {sum(traj.rewards):g}]")
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
