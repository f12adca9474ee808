"""`sandgym sandbox ...`: run code in a sandbox, and clean up leftovers."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from sandgym.sandbox.image import DEFAULT_IMAGE

app = typer.Typer(help="Run code in a fresh sandbox; remove leftover containers.",
                  no_args_is_help=True)


def register(root: typer.Typer) -> None:
    """Attach this command group to the root app."""
    root.add_typer(app, name="sandbox")


@app.command("exec")
def exec_(
    code: str | None = typer.Option(None, "--code", help="Python source to run."),
    file: Path | None = typer.Option(None, "--file", exists=True, dir_okay=False,
                                        help="A Python file to run."),
    timeout: float = typer.Option(10.0, help="Wall-clock deadline in seconds."),
    stdin: str | None = typer.Option(None, help="Text to feed on stdin."),
    as_json: bool = typer.Option(False, "--json", help="Print the full result as JSON."),
    image: str = typer.Option(DEFAULT_IMAGE, help="Sandbox image."),
) -> None:
    """Run Python code in a fresh, hardened sandbox and print what happened."""
    from sandgym.sandbox import DockerSandbox

    if (code is None) == (file is None):
        raise typer.BadParameter("give exactly one of --code or --file")
    source = code if code is not None else file.read_text()
    with DockerSandbox(image=image) as sandbox:
        result = sandbox.run_python(source, stdin=stdin, timeout=timeout)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        typer.echo(result.stdout, nl=False)
        if result.stderr:
            typer.echo(result.stderr, err=True, nl=False)
        typer.echo(f"[{result.status} exit={result.exit_code} {result.duration_s * 1000:.1f} ms]",
                   err=True)
    raise typer.Exit(0 if result.ok else 1)


@app.command("gc")
def gc(
    all_: bool = typer.Option(False, "--all", help="Remove every sandgym container, "
                              "including those of live processes and other hosts."),
    images: bool = typer.Option(False, "--images", help="Also remove the images built for "
                                "isolated envs (`sandgym.make_isolated`) that no container "
                                "uses; they are rebuilt on next use."),
    dry_run: bool = typer.Option(False, help="Only list what would be removed."),
) -> None:
    """Remove sandgym containers whose owning process is gone; print what was removed."""
    from sandgym.sandbox import docker_client
    from sandgym.sandbox.gc import collect_garbage, collect_images

    client = docker_client()
    removed = collect_garbage(client, everything=all_, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for container in removed:
        typer.echo(f"{verb} {container['id'][:12]} {container['name']} "
                   f"(owner {container['owner']}, {container['status']})")
    typer.echo(f"{verb} {len(removed)} container(s)")
    if images:
        gone = collect_images(client, dry_run=dry_run)
        for image in gone:
            typer.echo(f"{verb} image {image['id'][7:19]} {image['tags']}")
        typer.echo(f"{verb} {len(gone)} isolated-env image(s)")
