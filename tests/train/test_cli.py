"""`sandgym train grpo`: options reach the config; bad ones fail before any work."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from sandgym.cli import train as train_cli


def app() -> typer.Typer:
    root = typer.Typer()  # the root app, as sandgym.cli builds it
    root.callback()(lambda: None)
    train_cli.register(root)
    return root


def test_help_lists_the_options():
    result = CliRunner().invoke(app(), ["train", "grpo", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--env", "--model", "--lora", "--full", "--steps", "--num-generations",
                   "--out", "--report-to", "--reward-mode", "--mode", "--resume"):
        assert option in result.output


def test_invalid_settings_fail_with_the_fix():
    result = CliRunner().invoke(app(), ["train", "grpo", "--num-generations", "1"])
    assert result.exit_code == 2
    assert "num_generations must be >= 2" in result.output
    result = CliRunner().invoke(app(), ["train", "grpo", "--report-to", "mlflow"])
    assert result.exit_code == 2
    assert "report_to must be none, tensorboard or wandb" in result.output


def test_resume_without_a_checkpoint_fails_with_the_fix(tmp_path):
    result = CliRunner().invoke(app(), ["train", "grpo", "--out", str(tmp_path), "--resume"])
    assert result.exit_code == 2
    text = " ".join(result.output.replace("│", " ").split())  # unwrap Typer's error box
    assert "holds no checkpoint-N to resume from" in text
