"""The `sandgym` command line: thin Typer commands, each calling the library.

One module per command group keeps every file small. Each module in
`_COMMAND_MODULES` exposes `register(app)`; heavy libraries are imported inside the
commands, so `sandgym --help` starts fast.
"""

from __future__ import annotations

import importlib
import logging
import os

import typer

_COMMAND_MODULES = [
    "sandgym.cli.image",
    "sandgym.cli.sandbox",
    "sandgym.cli.bench",
    "sandgym.cli.model",
    "sandgym.cli.chat",
    "sandgym.cli.envs",
    "sandgym.cli.eval",
    "sandgym.cli.rollout",
    "sandgym.cli.train",
    "sandgym.cli.export",
    "sandgym.cli.report",
    "sandgym.cli.social",
    "sandgym.cli.tools",
]

app = typer.Typer(
    name="sandgym",
    help="Align language-model agents with execution feedback from Docker-sandboxed "
    "Gymnasium environments.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for _name in _COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """Entry point of the `sandgym` console script."""
    logging.basicConfig(
        level=os.environ.get("SANDGYM_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request
    app()
