"""`sandgym tools ...`: the tool-use family's own commands (serve a domain over MCP)."""

from __future__ import annotations

import json

import typer

app = typer.Typer(help="Tool-use domains: serve one as an MCP server, list them.",
                  no_args_is_help=True)


def register(root: typer.Typer) -> None:
    """Attach this command group to the root app."""
    root.add_typer(app, name="tools")


@app.command("serve")
def serve(domain: str = typer.Argument(..., help="Domain to serve: tau2-retail, tau2-airline, "
                                       "sql or word-problems (see `sandgym tools list`).")) -> None:
    """Serve a built-in tool domain as an MCP server over stdio (one session = one episode's
    state; sandboxed tools run in a sandbox). Needs the `mcp` package."""
    from sandgym.envs.tools.mcp_serve import serve as run

    run(domain)


@app.command("list")
def list_domains(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The domains `sandgym tools serve` accepts, with the env id each comes from."""
    from sandgym.envs.tools.mcp_serve import DOMAINS

    typer.echo(json.dumps(DOMAINS) if as_json else "\n".join(
        f"{name}\t{env_id}" for name, env_id in DOMAINS.items()))


@app.command("build-image")
def build_image(force: bool = typer.Option(False, help="Rebuild even when current.")) -> None:
    """Build the sandbox image with the pinned `mcp` (for MCP servers run in the sandbox):
    wheels downloaded on this host, unpacked into an image derived from sandgym/python."""
    from sandgym.envs.tools.mcp_image import build_mcp_image
    from sandgym.sandbox import docker_client

    typer.echo(build_mcp_image(docker_client(), force=force))
