"""`sandgym image ...`: build and inspect the sandbox image."""

from __future__ import annotations

import json

import typer

from sandgym.sandbox.image import DEFAULT_IMAGE

app = typer.Typer(help="Build and inspect the sandbox image (offline: no registry needed).",
                  no_args_is_help=True)


def register(root: typer.Typer) -> None:
    """Attach this command group to the root app."""
    root.add_typer(app, name="image")


@app.command("build")
def build(
    image: str = typer.Option(DEFAULT_IMAGE, help="Name of the image to build "
                              "($SANDGYM_IMAGE sets the default)."),
    base: str | None = typer.Option(
        None, help="Local base image with python3. Default: sandgym/base:bookworm, a local "
        "Debian/Python image, or one bootstrapped with debootstrap."),
    force: bool = typer.Option(False, help="Rebuild even when the image is current."),
) -> None:
    """Build the sandbox image unless it is already current (idempotent)."""
    from sandgym.sandbox import build_image, docker_client

    built = build_image(docker_client(), image=image, base=base, force=force)
    typer.echo(built)


@app.command("status")
def status(image: str = typer.Option(DEFAULT_IMAGE, help="Image to inspect.")) -> None:
    """Print whether the image exists and matches this sandgym (exit 1 when not current)."""
    from sandgym.sandbox import docker_client
    from sandgym.sandbox.image import image_status

    info = image_status(docker_client(), image)
    typer.echo(json.dumps(info))
    raise typer.Exit(0 if info["current"] else 1)
