"""`sandgym model path` and `sandgym chat` on a throwaway Typer app (the fake env)."""

from __future__ import annotations

import gymnasium
import pytest
import typer
from typer.testing import CliRunner

from sandgym.cli import chat, model

ENV_ID = "sandgym-test/Count-v0"


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    if ENV_ID not in gymnasium.registry:
        gymnasium.register(id=ENV_ID, entry_point="tests.agents.fake_env:CountEnv")
    root = typer.Typer()
    model.register(root)
    chat.register(root)
    return root


def test_model_path_before_fetch_says_how(app, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("SANDGYM_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["model", "path"])
    assert result.exit_code == 1
    assert result.stdout == ""  # $(sandgym model path) never yields a directory with no model
    assert str(tmp_path / "models" / "SmolLM2-135M-Instruct") in result.stderr
    assert "run `sandgym model fetch`" in result.stderr


def test_chat_plays_a_whole_episode(app) -> None:
    result = CliRunner().invoke(app, ["chat", "--env", ENV_ID, "--task-id", "count-2"],
                                input="1\n.\n2\n.\n")
    assert result.exit_code == 0, result.output
    assert "Count upwards, one number per reply." in result.output  # the system prompt
    assert "[task count-2]" in result.output and "Say 2." in result.output
    assert '"ok": true' in result.output
    assert "[episode over: terminated; return 1 after 2 turns]" in result.output


def test_chat_multi_line_reply_and_end_of_input(app) -> None:
    result = CliRunner().invoke(app, ["chat", "--env", ENV_ID, "--task-id", "count-3"],
                                input="line one\nline two\n.\n")
    assert '"got": "line one\\nline two"' in result.output
    assert result.exit_code == 1 and "episode abandoned" in result.output


def test_chat_rejects_a_bad_policy_spec(app) -> None:
    result = CliRunner().invoke(app, ["chat", "--env", ENV_ID, "--policy", "gpt-5"])
    assert result.exit_code != 0
    assert "policy spec 'gpt-5' is not a known form" in str(result.exception)


def test_chat_unknown_env_is_a_usage_error(app) -> None:
    result = CliRunner().invoke(app, ["chat", "--env", "sandgym-test/Nope-v0"])
    assert result.exit_code == 2 and "Nope" in result.output


@pytest.mark.slow
def test_chat_lets_a_policy_play(app, default_model_dir) -> None:
    result = CliRunner().invoke(app, ["chat", "--env", ENV_ID, "--task-id", "count-2",
                                      "--policy", "default", "--max-new-tokens", "3",
                                      "--max-turns", "1"])
    assert result.exit_code == 0, result.output
    assert "--- policy ---" in result.output
    assert "[episode cut after 1 turns; return" in result.output
