"""What `collect` and `sandgym rollout` refuse before any Ray starts: a bad policy spec,
and an output file collected with other settings (policy, env kwargs, sampling)."""

from __future__ import annotations

import re

import pytest

from sandgym.agents import PolicySpecError
from sandgym.rollouts import RolloutConfig, StorageError, TrajectoryStore, collect
from sandgym.rollouts.driver import check_policy_spec, default_sampling, run_identity

HUMANEVAL = "sandgym/HumanEval-v0"
FIRST = "sandgym/HumanEval-v0|HumanEval/0|0"


@pytest.fixture
def no_ray(monkeypatch):
    """Fail the test if the collection gets as far as connecting to Ray."""
    import ray

    from sandgym.rollouts import driver

    def refuse(*args, **kwargs):
        raise AssertionError("Ray was started")

    monkeypatch.setattr(driver, "ray_session", refuse)
    monkeypatch.setattr(ray, "init", refuse)


def _cli(argv: list[str]) -> int:
    from sandgym.cli import app, run

    if "rollout" not in {c.name for c in app.registered_commands}:
        from sandgym.cli.rollout import register

        register(app)
    return run(argv)


@pytest.mark.parametrize("spec, reason", [("nonsense", "is not a known form"),
                                          ("no/such/model-dir", "names no directory")])
def test_a_bad_policy_spec_is_one_error_line_before_ray_starts(spec, reason, no_ray, tmp_path,
                                                                capsys):
    out = tmp_path / "t6.parquet"
    code = _cli(["rollout", "--env", HUMANEVAL, "--policy", spec, "--limit", "1",
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"error: PolicySpecError: policy spec {spec!r} {reason}"), err
    assert "; use 'default'" in err.splitlines()[0], err
    assert len(err.splitlines()) <= 2, err  # the error and the DEBUG hint, no traceback
    assert not out.exists()


def test_check_policy_spec_accepts_every_valid_form_without_loading(tmp_path):
    model = tmp_path / "run" / "adapter"
    model.mkdir(parents=True)
    (model / "adapter_config.json").write_text("{}")
    for spec in ("default", "canonical", " canonical ", "openai:http://h:8000/v1#m",
                 str(tmp_path / "run")):
        check_policy_spec(spec)
    with pytest.raises(PolicySpecError, match=re.escape("needs a URL and a model name")):
        check_policy_spec("openai:http://h:8000/v1")
    with pytest.raises(PolicySpecError, match="is a directory with no model"):
        check_policy_spec(str(tmp_path))


def _stored(out, policy: str, **env_kwargs) -> None:
    """A collection holding episode FIRST, made by ``policy`` with default settings."""
    from tests.rollouts.test_storage import record

    config = RolloutConfig(env_kwargs=env_kwargs)
    identity = run_identity(HUMANEVAL, policy, default_sampling(1), config)
    with TrajectoryStore(out, identity=identity) as store:
        store.append(record(0, episode_id=FIRST, env_id=HUMANEVAL, task_id="HumanEval/0",
                            policy=policy))


def test_resume_with_another_policy_or_env_arg_is_refused(no_ray, tmp_path, capsys):
    out = tmp_path / "he.parquet"
    _stored(out, "canonical")
    with pytest.raises(StorageError, match=re.escape(
            "policy: 'canonical' stored, 'default' now); resuming would mix")):
        collect(HUMANEVAL, "default", limit=1, out=out, progress=False)
    code = _cli(["rollout", "--env", HUMANEVAL, "--policy", "canonical", "--limit", "1",
                 "--env-arg", "reward_mode=fraction", "--temperature", "0.5",
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert "env_kwargs.reward_mode: None stored, 'fraction' now" in err, err
    assert "sampling.temperature: 0.0 stored, 0.5 now" in err and "another --out" in err


def test_resume_with_the_same_settings_skips_what_is_stored(no_ray, tmp_path):
    out = tmp_path / "he.parquet"
    _stored(out, "canonical")
    result = collect(HUMANEVAL, "canonical", limit=1, out=out, progress=False)
    assert (result.episodes, result.skipped) == (0, 1)
