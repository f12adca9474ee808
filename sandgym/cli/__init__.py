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

logger = logging.getLogger("sandgym.cli")

app = typer.Typer(
    name="sandgym",
    help="Align language-model agents with execution feedback from Docker-sandboxed "
    "Gymnasium environments.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for _name in _COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"sandgym {version('sandgym')}")
        except PackageNotFoundError:  # run from a source tree that was never installed
            typer.echo("sandgym (not installed: no version)")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_print_version,
                                       is_eager=True, help="Print the version and exit.")
          ) -> None:
    # No docstring: the app's own help text stays the one `sandgym --help` shows.
    pass


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean a mistake in the command or a missing part, not a bug of ours.

    sandgym's own errors say what to do; Gymnasium's name a wrong env id (with a "did
    you mean"); ValueError and TypeError come from option values (a config's checks,
    an ``--env-arg`` the env does not take); OSError from files, sockets and engines.
    """
    from sandgym.errors import SandgymError

    errors: list[type[BaseException]] = [SandgymError, ValueError, TypeError, OSError]
    try:
        import gymnasium.error

        errors.append(gymnasium.error.Error)
    except ImportError:  # pragma: no cover - gymnasium is a dependency
        pass
    return tuple(errors)


def _usage_errors() -> tuple[type[BaseException], ...]:
    """Click's usage errors: Typer 0.29 bundles its own click (``typer.TyperException``
    is their base); older Typers raise click's."""
    errors: list[type[BaseException]] = []
    bundled = getattr(typer, "TyperException", None)
    if isinstance(bundled, type):
        errors.append(bundled)
    try:
        import click

        errors.append(click.ClickException)
    except ImportError:  # pragma: no cover - Typer 0.29 does not need click
        pass
    return tuple(errors)


def _names_an_unknown_env(error: BaseException) -> bool:
    """Gymnasium's error for an env id it does not know (a name, version or namespace)."""
    try:
        import gymnasium.error
    except ImportError:  # pragma: no cover - gymnasium is a dependency
        return False
    unknown = tuple(getattr(gymnasium.error, name) for name in (
        "NameNotFound", "NamespaceNotFound", "VersionNotFound", "UnregisteredEnv")
        if hasattr(gymnasium.error, name))
    return isinstance(error, unknown)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI; a user error is one ``error:`` line on stderr and status 1.

    A 50-line traceback hid the one line that says what to do (``no Docker engine
    answers ... Start Docker``, ``Did you mean: HumanEval?``). With
    ``SANDGYM_LOG_LEVEL=DEBUG`` the traceback is shown as well.
    """
    try:
        # Not standalone: Typer returns typer.Exit's status instead of exiting, and
        # raises usage errors for us to show.
        returned = app(args=argv, standalone_mode=False)
    except typer.Abort:  # click's convention (EOF at a prompt); Ctrl-C exits 130 itself
        typer.echo("Aborted!", err=True)
        return 1
    except _usage_errors() as e:  # bad options, values, names: click shows them
        show = getattr(e, "show", None)
        if show is not None:
            show()
        else:
            typer.echo(f"error: {e}", err=True)
        return int(getattr(e, "exit_code", 2))
    except _user_errors() as e:
        logger.debug("the command failed", exc_info=True)
        message = str(e).strip() or type(e).__name__
        if _names_an_unknown_env(e) and "sandgym envs list" not in message:
            message += " (see `sandgym envs list`; sandgym's own ids start with `sandgym/`)"
        typer.echo(f"error: {type(e).__name__}: {message}", err=True)
        if not logger.isEnabledFor(logging.DEBUG):
            typer.echo("(SANDGYM_LOG_LEVEL=DEBUG shows the traceback)", err=True)
        return 1
    return returned if isinstance(returned, int) and not isinstance(returned, bool) else 0


def main() -> None:
    """Entry point of the `sandgym` console script."""
    logging.basicConfig(
        level=os.environ.get("SANDGYM_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request
    raise SystemExit(run())
