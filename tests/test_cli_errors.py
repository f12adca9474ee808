"""The `sandgym` command's error boundary: a plain mistake is one line, not a traceback.

Run as the console script runs (a fresh interpreter calling `sandgym.cli.main`), so the
exit status and stderr are what a user sees.
"""

from __future__ import annotations

import os
import subprocess
import sys

CLI = "import sys; from sandgym.cli import main; sys.argv[0] = 'sandgym'; main()"


def sandgym(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **env})


def test_a_mistyped_env_id_is_one_line_with_the_suggestion():
    result = sandgym("eval", "--env", "sandgym/HumanEvl-v0")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "error: NameNotFound: Environment `HumanEvl` doesn't exist" in result.stderr
    assert "Did you mean: `HumanEval`?" in result.stderr
    assert "SANDGYM_LOG_LEVEL=DEBUG" in result.stderr


def test_an_env_id_without_the_namespace_points_at_the_list():
    result = sandgym("eval", "--env", "HumanEval-v0")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "see `sandgym envs list`; sandgym's own ids start with `sandgym/`" in result.stderr


def test_no_docker_engine_says_what_to_do_in_one_line():
    result = sandgym("sandbox", "exec", "--code", "print(1)",
                     DOCKER_HOST="unix:///nonexistent/docker.sock")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "error: EngineUnavailableError: no Docker engine answers" in result.stderr


def test_debug_logging_shows_the_traceback_too():
    result = sandgym("eval", "--env", "sandgym/HumanEvl-v0", SANDGYM_LOG_LEVEL="DEBUG")
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "error: NameNotFound" in result.stderr


def test_usage_errors_and_statuses_pass_through():
    bad_option = sandgym("envs", "list", "--no-such-option")
    assert bad_option.returncode == 2 and "No such option: --no-such-option" in bad_option.stderr
    assert sandgym("--help").returncode == 0
    checked = sandgym("envs", "check", "sandgym/HumanEvl-v0")  # the command's own status
    assert checked.returncode == 2 and "see `sandgym envs list`" in checked.stderr
    listed = sandgym("envs", "list", "--json")
    assert listed.returncode == 0 and '"id": "sandgym/HumanEval-v0"' in listed.stdout


def test_social_commands_refuse_the_canonical_policy_as_a_usage_error(tmp_path):
    for command in (["social", "simulate", "--agents", "2", "--rounds", "1"],
                    ["social", "scenarios", "--limit", "1"]):
        result = sandgym(*command, "--policy", "canonical", "--out", str(tmp_path / "x.parquet"))
        assert result.returncode == 2, result.stderr
        assert "social games have none" in result.stderr
    assert "canonical" not in sandgym("social", "simulate", "--help").stdout


def test_rollout_tasks_given_a_file_points_at_env_arg(tmp_path):
    result = sandgym("rollout", "--env", "sandgym/PythonTests-v0", "--tasks", "mine.jsonl",
                     "--out", str(tmp_path / "r.parquet"))
    assert result.returncode == 2
    assert "--env-arg tasks=FILE" in result.stderr
    assert not (tmp_path / "r.parquet").exists()


def test_version_prints_the_installed_version():
    from importlib.metadata import version

    result = sandgym("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"sandgym {version('sandgym')}"
