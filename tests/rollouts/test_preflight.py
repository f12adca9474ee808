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


# --------------------------------------------------------- a model path on a cluster


@pytest.mark.parametrize("address", ["ray://head:10001", "auto"])
def test_a_model_path_is_left_to_the_workers_of_a_cluster(address, caplog):
    from sandgym.rollouts.driver import _preflight_policy

    with caplog.at_level("INFO", logger="sandgym.rollouts.driver"):
        for spec in ("/cluster/storage/no-such-model", "runs/x", "./m", "~/m"):
            _preflight_policy(spec, address)  # the driver cannot see their filesystem
    assert "load it from their own filesystem" in caplog.text
    for spec, reason in [("nonsense", "is not a known form"),
                         ("openai:http://h:8000/v1", "needs a URL and a model name")]:
        with pytest.raises(PolicySpecError, match=re.escape(reason)):
            _preflight_policy(spec, address)  # the other forms are still checked


@pytest.mark.parametrize("address", [None, "local"])
def test_a_model_path_is_checked_when_ray_runs_here(address):
    from sandgym.rollouts.driver import _preflight_policy

    with pytest.raises(PolicySpecError, match="names no directory"):
        _preflight_policy("/cluster/storage/no-such-model", address)


def test_collect_with_an_address_gets_past_a_path_it_cannot_see(no_ray, tmp_path):
    with pytest.raises(AssertionError, match="Ray was started"):  # not PolicySpecError
        collect(HUMANEVAL, str(tmp_path / "no" / "such-model"), limit=1,
                out=tmp_path / "he.parquet", address="ray://head:10001", progress=False)


# --------------------------------------------------------- what the resume compares


def test_a_path_policy_is_one_identity_however_it_is_written(no_ray, tmp_path, monkeypatch):
    model = tmp_path / "runs" / "x" / "adapter"
    model.mkdir(parents=True)
    (model / "adapter_config.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    config, sampling = RolloutConfig(), default_sampling(1)
    identities = {run_identity(HUMANEVAL, spec, sampling, config)["policy"]
                  for spec in ("runs/x", "./runs/x", "runs/x/", str(tmp_path / "runs" / "x"))}
    assert identities == {str((tmp_path / "runs" / "x").resolve())}
    for spec in ("default", "canonical", "openai:http://h:8000/v1#m", "make_policy"):
        assert run_identity(HUMANEVAL, spec, sampling, config)["policy"] == spec
    assert run_identity(HUMANEVAL, "runs", sampling, config)["policy"] == \
        str((tmp_path / "runs").resolve())  # a bare word naming a directory here
    out = tmp_path / "he.parquet"
    _stored(out, "runs/x")
    for spec in ("./runs/x", str(tmp_path / "runs" / "x")):
        result = collect(HUMANEVAL, spec, limit=1, out=out, progress=False)
        assert (result.episodes, result.skipped) == (0, 1)


def test_the_task_file_is_not_part_of_the_identity():
    config = RolloutConfig(env_kwargs={"tasks": "mine.jsonl", "reward_mode": "fraction"})
    identity = run_identity(HUMANEVAL, "canonical", default_sampling(1), config)
    assert identity["env_kwargs"] == {"reward_mode": "fraction"}


def test_worker_start_error_names_the_episodes_it_held_back():
    from sandgym.rollouts.driver import _start_error_message

    cause = RuntimeError("\x1b[31mworker died: OOM\x1b[0m")
    plain = _start_error_message(3, cause)
    assert plain.startswith("3 rollout workers in a row died before finishing a batch; "
                            "last error: worker died: OOM. Check Docker")
    assert "never ran" not in plain
    ids = [f"sandgym/HumanEval-v0|HumanEval/{i}|0" for i in range(8)]
    text = _start_error_message(3, cause, ids)
    assert "8 episode(s) never ran and are not stored (" in text
    assert ", ".join(ids[:5]) + " and 3 more)" in text and ids[5] not in text
    assert "themselves kill their workers" in text and "excluded (--tasks" in text
    assert "HumanEval/0|0); a rerun" in _start_error_message(3, cause, ids[:1])
