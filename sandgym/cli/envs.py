"""`sandgym envs ...`: list the registry, check an environment."""

from __future__ import annotations

import json

import typer

app = typer.Typer(help="List registered environments and check them.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    """Attach this command group to the root app."""
    root.add_typer(app, name="envs")


@app.command("list")
def list_envs(as_json: bool = typer.Option(False, "--json", help="Print JSON lines.")) -> None:
    """Print every sandgym env: id, family, description, task count (plugins included)."""
    from sandgym.envs import registered_envs

    rows = [{"id": e.id, "family": e.family, "tasks": e.count(), "source": e.source,
             "description": e.describe()} for e in registered_envs()]
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row))
        return
    width = max([len(r["id"]) for r in rows] + [2])
    typer.echo(f"{'ID':<{width}}  {'FAMILY':<8}  {'TASKS':>5}  DESCRIPTION")
    for r in rows:
        tasks = "-" if r["tasks"] is None else str(r["tasks"])
        source = "" if r["source"] == "sandgym" else f" [plugin: {r['source']}]"
        typer.echo(f"{r['id']:<{width}}  {r['family']:<8}  {tasks:>5}  {r['description']}"
                   f"{source}")


@app.command("check")
def check(
    env_id: str = typer.Argument(..., help="Registered id, e.g. sandgym/HumanEval-v0."),
    task_id: str = typer.Option(None, "--task", help="Task of the scripted episode."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Run Gymnasium's check_env and one scripted episode; exit 1 when anything fails."""
    import gymnasium

    from sandgym.envs.check import check_env_id

    try:
        report = check_env_id(env_id, task_id=task_id)
    except gymnasium.error.Error as e:  # unknown id: Gymnasium's message has "did you mean"
        typer.echo(f"error: {e} (see `sandgym envs list`)", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(report, default=str))
    else:
        episode = report["episode"] or {}
        typer.echo(f"{env_id}: {'OK' if report['ok'] else 'FAILED'}")
        typer.echo(f"  check_env: {report['check_env']}")
        for warning in report["warnings"]:
            typer.echo(f"  warning: {warning}")
        typer.echo(f"  episode ({episode.get('policy')} answer, task {episode.get('task_id')}):"
                   f" {episode.get('steps')} step(s), rewards {episode.get('rewards')}, "
                   f"verdict {(episode.get('verdict') or {}).get('status')}"
                   + (f", error {episode['error']}" if episode.get("error") else ""))
    raise typer.Exit(0 if report["ok"] else 1)
