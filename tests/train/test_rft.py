"""Expert iteration (`sandgym train rft`): selection logic, then a real small run end to end.

The end-to-end test samples from the real default model, verifies in real sandboxes,
fine-tunes a LoRA adapter with TRL's SFTTrainer, and evaluates the adapter through
`sandgym eval --policy RUN_DIR`.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from sandgym.agents.trajectory import Trajectory
from sandgym.train.rft import RFTRunConfig, select_examples, task_shares


def _traj(task: str, reply: str, reward: float | None, status: str,
          sandbox_error: bool = False) -> Trajectory:
    return Trajectory(episode_id=f"{task}-{reply}", env_id="e", task_id=task,
                      messages=[{"role": "user", "content": f"solve {task}"},
                                {"role": "assistant", "content": reply}],
                      rewards=[] if reward is None else [reward],
                      verdicts=[{"status": status}], final_reward=reward,
                      sandbox_error=sandbox_error, num_turns=1)


def test_only_verified_distinct_replies_are_kept_shortest_first():
    trajectories = [
        _traj("a", "long correct answer", 1.0, "pass"),
        _traj("a", "short ok", 1.0, "pass"),
        _traj("a", "short ok  ", 1.0, "pass"),          # same text once stripped
        _traj("a", "mid answer", 1.0, "pass"),
        _traj("a", "wrong", 0.0, "fail"),
        _traj("b", "crashed sandbox", None, "sandbox_error", sandbox_error=True),
        _traj("b", "fails", 0.0, "fail"),
        _traj("c", "partial", 0.5, "fail"),              # a partial reward is not a pass
    ]
    examples = select_examples(trajectories, keep_per_task=2)
    assert [(e["task_id"], e["completion"][0]["content"]) for e in examples] == [
        ("a", "short ok"), ("a", "mid answer")]
    assert examples[0]["prompt"] == [{"role": "user", "content": "solve a"}]


def test_multi_turn_successes_train_only_the_passing_turn():
    traj = _traj("t", "first try", 1.0, "pass")
    traj.messages += [{"role": "user", "content": "tests failed"},
                      {"role": "assistant", "content": "fixed"}]
    examples = select_examples([traj], keep_per_task=1)
    # The failed first attempt is context, never a target.
    assert [len(e["prompt"]) for e in examples] == [3]
    assert [e["completion"][0]["content"] for e in examples] == ["fixed"]


def test_fresh_task_rounds_deal_every_task_to_exactly_one_round_in_order():
    ids = [f"t{i}" for i in range(10)]
    shares = task_shares(ids, 3, fresh_tasks=True)
    assert shares == [["t0", "t3", "t6", "t9"], ["t1", "t4", "t7"], ["t2", "t5", "t8"]]
    assert sorted(t for share in shares for t in share) == sorted(ids)
    # Fewer tasks than rounds: no round samples nothing.
    assert task_shares(["a", "b"], 3, fresh_tasks=True) == [["a"], ["b"]]
    # ReST-EM: every round samples every task.
    assert task_shares(ids[:2], 2, fresh_tasks=False) == [["t0", "t1"], ["t0", "t1"]]


class _Fakes:
    """Stand-ins for the model, the env batches and the training steps, so the round
    logic of `train_rft` runs in milliseconds: ``passes[round]`` says which tasks pass
    (with ``first_sample_fails``, all but their first sample); a failing sample other
    than the first earns ``partial`` credit (its verdict still says fail)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, tmp_path, passes: dict[int, set],
                 first_sample_fails: bool = False, partial: float = 0.0,
                 greedy_passes: dict[int, set] | None = None, greedy_credit: float = 0.0):
        import types

        import sandgym.agents
        import sandgym.envs
        import sandgym.rollouts.evaluation
        import sandgym.train.datasets
        import sandgym.train.metrics
        import sandgym.train.rft as rft

        self.sampled_with: list[str] = []   # the model each round sampled with
        self.sampled_tasks: list[list[str]] = []
        self.greedy_tasks: list[list[str]] = []  # tasks each greedy (temperature 0) call got
        self.fine_tunes: list[tuple[int, object, int]] = []  # (round, resume, examples)
        self.prefers: list[tuple[int, object, list]] = []  # (round, resume, pairs)
        fakes = self

        class Policy:
            def __init__(self, path, name=""):
                fakes.sampled_with.append(str(path))

            def close(self):
                pass

        class Batches:
            task_ids = [f"t{i}" for i in range(6)]

            def __init__(self, *args, **kwargs):
                pass

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return None

            def play(self, policy, task_ids, *, samples, sampling, max_turns):
                if sampling.greedy:  # the greedy reply of each task in the latest round
                    assert samples == 1
                    fakes.greedy_tasks.append(list(task_ids))
                    ok = (greedy_passes or {}).get(len(fakes.sampled_tasks), set())
                    return [_traj(t, f"greedy {t}", 1.0 if t in ok else greedy_credit,
                                  "pass" if t in ok else "fail") for t in task_ids]
                round_ = len(fakes.sampled_tasks) + 1
                fakes.sampled_tasks.append(list(task_ids))
                ok = passes.get(round_, set())

                def passed(t: str, i: int) -> bool:
                    return t in ok and not (first_sample_fails and i == 0)

                return [_traj(t, f"reply {t} {i}",
                              1.0 if passed(t, i) else (partial if i else 0.0),
                              "pass" if passed(t, i) else "fail")
                        for t in task_ids for i in range(samples)]

        def fine_tune(base, examples, adapter_dir, config, round_, out, *, resume=None):
            fakes.fine_tunes.append((round_, resume, len(examples)))
            adapter_dir.mkdir(exist_ok=True)
            return [0.5]

        def prefer(base, pairs, adapter_dir, config, round_, out, *, resume=None):
            fakes.prefers.append((round_, resume, pairs))
            adapter_dir.mkdir(exist_ok=True)
            return [0.7]

        monkeypatch.setattr(sandgym.agents, "TransformersPolicy", Policy)
        monkeypatch.setattr(sandgym.agents, "default_model_path", lambda: tmp_path / "base")
        monkeypatch.setattr(sandgym.rollouts.evaluation, "EpisodeBatches", Batches)
        monkeypatch.setattr(sandgym.train.datasets, "training_env_kwargs",
                            lambda *a, **k: {})
        monkeypatch.setattr(sandgym.envs, "env_traits", lambda env_id: types.SimpleNamespace(
            stop_after_code_block=True, multi_turn=False))
        monkeypatch.setattr(sandgym.train.metrics, "plot_reward_curve", lambda *a, **k: None)
        monkeypatch.setattr(rft, "_fine_tune", fine_tune)
        monkeypatch.setattr(rft, "_prefer", prefer)
        monkeypatch.setattr(rft, "unsupported_model", lambda base: None)


def _run(tmp_path, **config):
    from sandgym.train.rft import train_rft

    return train_rft(RFTRunConfig(**{"out": str(tmp_path / "run"), "progress": False,
                                     "samples_per_task": 2, "objective": "sft", **config}))


def test_fresh_task_rounds_continue_the_adapter_and_sample_with_it(monkeypatch, tmp_path):
    fakes = _Fakes(monkeypatch, tmp_path, passes={1: {"t0"}, 2: {"t1", "t4", "t5"}})
    result = _run(tmp_path, rounds=2)
    adapter = tmp_path / "run" / "adapter"
    assert fakes.sampled_tasks == [["t0", "t2", "t4"], ["t1", "t3", "t5"]]
    assert fakes.sampled_with == [str(tmp_path / "base"), str(adapter)]
    # Round 1 starts an adapter, round 2 trains that one further on its own replies.
    assert fakes.fine_tunes == [(1, None, 2), (2, adapter, 4)]  # 2 distinct replies a task
    assert result.summary["reward_per_round"] == [pytest.approx(1 / 3), pytest.approx(2 / 3)]
    assert result.summary["tasks_per_round"] == [3, 3]


def test_a_fresh_round_that_keeps_nothing_leaves_the_model_as_it_was(monkeypatch, tmp_path):
    fakes = _Fakes(monkeypatch, tmp_path, passes={2: {"t1"}, 3: {"t2"}})
    _run(tmp_path, rounds=3)
    adapter = tmp_path / "run" / "adapter"
    # Nothing passed in round 1: round 2 still samples the base and starts the adapter.
    assert fakes.sampled_with == [str(tmp_path / "base")] * 2 + [str(adapter)]
    assert fakes.fine_tunes == [(2, None, 2), (3, adapter, 2)]


def test_rpo_rounds_train_on_passed_failed_pairs_of_the_same_task(monkeypatch, tmp_path):
    fakes = _Fakes(monkeypatch, tmp_path, passes={1: {"t0", "t2"}, 2: {"t3"}},
                   first_sample_fails=True)
    result = _run(tmp_path, rounds=2, objective="rpo", samples_per_task=3, pair_greedy=False)
    adapter = tmp_path / "run" / "adapter"
    assert fakes.greedy_tasks == []
    assert fakes.fine_tunes == []  # no SFT step under rpo
    assert [(r, resume) for r, resume, _ in fakes.prefers] == [(1, None), (2, adapter)]
    round1 = fakes.prefers[0][2]
    # t4 failed every sample: no pair. t0 and t2: each passed reply over the failed one.
    assert sorted(p["task_id"] for p in round1) == ["t0", "t0", "t2", "t2"]
    for pair in round1:
        task = pair["task_id"]
        assert pair["prompt"] == [{"role": "user", "content": f"solve {task}"}]
        assert pair["rejected"] == [{"role": "assistant", "content": f"reply {task} 0"}]
    assert sorted(p["chosen"][0]["content"] for p in round1 if p["task_id"] == "t0") == [
        "reply t0 1", "reply t0 2"]
    written = [json.loads(line) for line in
               (tmp_path / "run" / "pairs_round1.jsonl").read_text().splitlines()]
    assert [(p["task_id"], p["rejected"]) for p in written] == [
        (p["task_id"], p["rejected"][0]["content"]) for p in round1]
    assert result.summary["examples_per_round"] == [4, 2]


def test_rpo_pairs_never_put_partial_credit_on_the_chosen_side(monkeypatch, tmp_path):
    # t0 passes samples 1-2 of 3 and fails sample 0 (0 credit). t1 fails all three, two
    # of them with half credit: ranked by reward alone they would make pairs.
    fakes = _Fakes(monkeypatch, tmp_path, passes={1: {"t0"}}, first_sample_fails=True,
                   partial=0.5)
    result = _run(tmp_path, rounds=1, objective="rpo", samples_per_task=3, pairs_per_task=1,
                  limit=2, pair_greedy=False)
    (_, _, pairs), = fakes.prefers
    assert [(p["task_id"], p["rejected"][0]["content"]) for p in pairs] == [
        ("t0", "reply t0 0")]  # one pair: pairs_per_task
    assert result.summary["examples_per_round"] == [1]


def test_rpo_pairs_a_verified_sample_against_the_failed_greedy_reply_first(monkeypatch,
                                                                          tmp_path):
    # Round 1 holds t0, t2, t4. Samples: t0 and t2 pass all but their first; t4 fails
    # all. Greedy: t2 passes, t0 and t4 fail with half credit, so by reward margin alone
    # t0's failed sample (0 credit) would be rejected in both its pairs.
    fakes = _Fakes(monkeypatch, tmp_path, passes={1: {"t0", "t2"}}, first_sample_fails=True,
                   greedy_passes={1: {"t2"}}, greedy_credit=0.5)
    result = _run(tmp_path, rounds=2, objective="rpo", samples_per_task=3, pairs_per_task=2)
    assert fakes.greedy_tasks == fakes.sampled_tasks == [["t0", "t2", "t4"],
                                                         ["t1", "t3", "t5"]]
    (_, _, round1), = [p for p in fakes.prefers if p[0] == 1]
    rejected = [(p["task_id"], p["rejected"][0]["content"]) for p in round1]
    # t0's failed greedy reply is the rejected side of its first pair, its failed
    # sample of the second. t2's greedy reply passed, so its failed sample is rejected.
    assert rejected == [("t0", "greedy t0"), ("t0", "reply t0 0"),
                        ("t2", "reply t2 0"), ("t2", "reply t2 0")]
    assert {p["chosen"][0]["content"] for p in round1[:2]} <= {"reply t0 1", "reply t0 2"}
    greedy = [json.loads(line) for line in
              (tmp_path / "run" / "greedy_round1.jsonl").read_text().splitlines()]
    assert [(g["task_id"], g["passed"]) for g in greedy] == [
        ("t0", False), ("t2", True), ("t4", False)]
    assert result.summary["greedy_pass_rate_per_round"] == [pytest.approx(1 / 3), 0.0]
    assert result.summary["objective"] == "rpo"
    # The training reward stays the sampled pass rate: greedy replies are not in it.
    assert result.summary["reward_per_round"][0] == pytest.approx(4 / 9)


def test_sft_rounds_decode_no_greedy_reply(monkeypatch, tmp_path):
    fakes = _Fakes(monkeypatch, tmp_path, passes={1: {"t0"}})
    _run(tmp_path, rounds=1)
    assert fakes.greedy_tasks == [] and fakes.fine_tunes


@pytest.mark.parametrize("multi_turn", [False, True])
def test_auto_objective_is_rpo_for_one_turn_envs_and_sft_for_multi_turn(monkeypatch,
                                                                       tmp_path, multi_turn):
    import types

    import sandgym.envs

    fakes = _Fakes(monkeypatch, tmp_path, passes={1: {"t0", "t2"}}, first_sample_fails=True)
    monkeypatch.setattr(sandgym.envs, "env_traits", lambda env_id: types.SimpleNamespace(
        stop_after_code_block=True, multi_turn=multi_turn))
    _run(tmp_path, rounds=1, objective="auto", samples_per_task=3)
    assert (len(fakes.fine_tunes), len(fakes.prefers)) == ((1, 0) if multi_turn else (0, 1))
    written = json.loads((tmp_path / "run" / "config.json").read_text())
    assert written["objective"] == ("sft" if multi_turn else "rpo")  # what ran


def test_auto_objective_falls_back_to_sft_where_rpo_cannot_run(monkeypatch, tmp_path):
    import sandgym.train.rft as rft

    fakes = _Fakes(monkeypatch, tmp_path, passes={1: {"t0"}, 2: {"t0"}})  # per call
    # One reply per task and no greedy one: nothing to pair.
    _run(tmp_path, rounds=1, objective="auto", samples_per_task=1, pair_greedy=False)
    assert (len(fakes.fine_tunes), len(fakes.prefers), fakes.greedy_tasks) == (1, 0, [])
    # A model the packed forward would score wrongly.
    monkeypatch.setattr(rft, "unsupported_model", lambda base: "sliding windows")
    _run(tmp_path, rounds=1, objective="auto")
    assert (len(fakes.fine_tunes), len(fakes.prefers)) == (2, 0)
    earlier = tmp_path / "run" / "adapter"
    with pytest.raises(ValueError, match="cannot run: sliding windows"):
        _run(tmp_path, rounds=1, objective="rpo")
    assert earlier.exists()  # refused before touching the run directory
    monkeypatch.setattr(rft, "unsupported_model", lambda base: None)
    with pytest.raises(ValueError, match="1 reply per task gives no pair"):
        _run(tmp_path, rounds=1, objective="rpo", samples_per_task=1, pair_greedy=False)


def test_an_rpo_run_where_every_reply_passed_has_nothing_to_train_on(monkeypatch, tmp_path):
    _Fakes(monkeypatch, tmp_path, passes={1: {f"t{i}" for i in range(6)}},
           greedy_passes={1: {f"t{i}" for i in range(6)}})
    with pytest.raises(RuntimeError, match="no task had both a passed and a failed reply"):
        _run(tmp_path, rounds=1, objective="rpo")


def test_rpo_refuses_multi_turn_envs(monkeypatch, tmp_path):
    import types

    import sandgym.envs

    _Fakes(monkeypatch, tmp_path, passes={1: {"t0"}})
    monkeypatch.setattr(sandgym.envs, "env_traits", lambda env_id: types.SimpleNamespace(
        stop_after_code_block=False, multi_turn=True))
    earlier = tmp_path / "run" / "adapter"
    earlier.mkdir(parents=True)
    with pytest.raises(ValueError, match="multi-turn"):
        _run(tmp_path, objective="rpo")
    assert earlier.exists()  # refused before touching the run directory


def test_every_task_rounds_retrain_from_the_base_and_stop_when_nothing_passes(
        monkeypatch, tmp_path):
    fakes = _Fakes(monkeypatch, tmp_path, passes={1: {"t0"}, 2: {"t0", "t1"}})
    result = _run(tmp_path, rounds=4, fresh_tasks=False)
    adapter = tmp_path / "run" / "adapter"
    assert fakes.sampled_tasks == [[f"t{i}" for i in range(6)]] * 3  # round 3 kept none
    assert fakes.sampled_with == [str(tmp_path / "base"), str(adapter), str(adapter)]
    assert fakes.fine_tunes == [(1, None, 2), (2, None, 4)]
    assert result.summary["rounds"] == 3


def test_a_run_that_trains_nothing_fails_and_leaves_no_earlier_adapter(monkeypatch,
                                                                       tmp_path):
    _Fakes(monkeypatch, tmp_path, passes={})
    stale = tmp_path / "run" / "adapter"
    stale.mkdir(parents=True)
    (tmp_path / "run" / "samples_round7.jsonl").write_text("{}\n")
    (tmp_path / "run" / "pairs_round7.jsonl").write_text("{}\n")
    (tmp_path / "run" / "greedy_round7.jsonl").write_text("{}\n")
    with pytest.raises(RuntimeError, match="nothing to train on"):
        _run(tmp_path, rounds=2)
    assert not stale.exists() and not (tmp_path / "run" / "samples_round7.jsonl").exists()
    assert not (tmp_path / "run" / "pairs_round7.jsonl").exists()
    assert not (tmp_path / "run" / "greedy_round7.jsonl").exists()


@pytest.mark.parametrize(("split", "env_kwargs"), [
    ("test", {}), ("all", {}), (None, {}), ("train", {"split": "test"}),
    ("train", {"split": "all"})])
def test_training_never_includes_held_out_tasks(split, env_kwargs):
    from sandgym.train.datasets import training_env_kwargs

    with pytest.raises(ValueError, match="held-out"):
        training_env_kwargs("sandgym/PythonBasics-v0", split, env_kwargs)


def test_training_split_applies_only_where_tasks_have_splits():
    from sandgym.train.datasets import training_env_kwargs

    assert training_env_kwargs("sandgym/PythonBasics-v0", "train") == {"split": "train"}
    assert training_env_kwargs("sandgym/PythonTests-v0", "train") == {}
    assert training_env_kwargs("sandgym/PythonTests-v0", None) == {}


def test_config_refuses_the_held_out_split_and_useless_settings():
    with pytest.raises(ValueError, match="held-out"):
        RFTRunConfig(split="test")
    with pytest.raises(ValueError, match="identical samples"):
        RFTRunConfig(temperature=0.0, samples_per_task=4)
    with pytest.raises(ValueError, match="rounds"):
        RFTRunConfig(rounds=0)
    with pytest.raises(ValueError, match="limit"):
        RFTRunConfig(limit=0)
    with pytest.raises(ValueError, match="objective must be one of auto, rpo, sft"):
        RFTRunConfig(objective="dpo")
    with pytest.raises(ValueError, match="beta"):
        RFTRunConfig(objective="rpo", beta=0.0)
    # rpo is the default; each objective has its own default learning rate and epochs,
    # and a given one wins.
    assert RFTRunConfig().objective == "auto"
    assert (RFTRunConfig(objective="sft").lr, RFTRunConfig().lr) == (5e-4, 1e-4)
    assert RFTRunConfig(learning_rate=5e-5).lr == 5e-5
    assert (RFTRunConfig(objective="sft").train_epochs, RFTRunConfig().train_epochs) == (3, 2)
    assert RFTRunConfig(epochs=1).train_epochs == 1


def test_train_rft_end_to_end_then_eval_loads_the_adapter(model_path, tmp_path):
    from sandgym.cli import app

    out = tmp_path / "rft"
    runner = CliRunner()
    result = runner.invoke(app, [
        "train", "rft", "--objective", "sft", "--limit", "4", "--rounds", "2",
        "--samples-per-task", "2", "--epochs", "1", "--batch-size", "2",
        "--max-new-tokens", "96", "--out", str(out),
        "--no-progress"])
    assert result.exit_code == 0, result.output
    headline = _last_json(result.output)
    assert headline["trainer"] == "rft" and headline["rounds"] == 2
    assert headline["tasks_per_round"] == [2, 2]
    assert (out / "adapter" / "adapter_model.safetensors").is_file()
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [row["episodes"] for row in rows] == [4, 4]
    samples = [[json.loads(line) for line in (out / f"samples_round{r}.jsonl").read_text()
                .splitlines()] for r in (1, 2)]
    # Fresh tasks: each round samples its own share (tasks 1 and 3, then 2 and 4).
    tasks = [{s["task_id"] for s in round_samples} for round_samples in samples]
    assert len(tasks[0]) == len(tasks[1]) == 2 and not tasks[0] & tasks[1]
    for row, round_samples in zip(rows, samples, strict=True):
        assert len(round_samples) == 4
        assert sum(s["passed"] for s in round_samples) >= row["examples"]
    assert sum(row["examples"] for row in rows) >= 1
    # Every kept example is a reply the sandbox passed, cut after its code block.
    passed_replies = {s["reply"] for round_samples in samples for s in round_samples
                      if s["passed"]}
    assert all(r.rstrip().endswith("```") for r in passed_replies)
    sft = [json.loads(line) for line in (out / "sft_log.jsonl").read_text().splitlines()]
    assert sft and all(row["loss"] > 0 for row in sft)
    assert {row["round"] for row in sft} == {r["step"] for r in rows if r["examples"]}
    assert (out / "reward_curve.png").stat().st_size > 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["reward_per_round"] == [row["reward/mean"] for row in rows]

    # The run directory is a policy: the adapter is merged into the base for eval.
    evaluated = runner.invoke(app, ["eval", "--env", "sandgym/PythonBasics-v0",
                                    "--env-arg", "split=test", "--policy", str(out),
                                    "--limit", "2", "--max-new-tokens", "96", "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    report = _last_json(evaluated.output)
    assert report["policy"] == str(out) and report["tasks"] == 2
    assert report["sandbox_errors"] == 0
    assert set(report["pass@k_interval"]) == {"pass@1"}


def test_train_rft_rpo_through_the_cli_pairs_what_the_sandbox_judged(model_path, tmp_path):
    from sandgym.cli import app

    out = tmp_path / "rpo"
    result = CliRunner().invoke(app, [
        "train", "rft", "--objective", "rpo", "--limit", "8", "--rounds", "1",
        "--samples-per-task", "4", "--epochs", "1", "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert _last_json(result.output)["examples_per_round"][0] >= 1
    judged = [json.loads(line) for name in ("samples_round1.jsonl", "greedy_round1.jsonl")
              for line in (out / name).read_text().splitlines()]
    assert len(judged) == 8 * 4 + 8  # every sample, and each task's greedy reply
    verdicts = {(s["task_id"], s["reply"]): s["passed"] for s in judged}
    pairs = [json.loads(line) for line in (out / "pairs_round1.jsonl").read_text()
             .splitlines()]
    assert pairs
    for pair in pairs:  # chosen: a reply the sandbox passed; rejected: one it failed
        assert verdicts[(pair["task_id"], pair["chosen"])] is True
        assert verdicts[(pair["task_id"], pair["rejected"])] is False
    log = [json.loads(line) for line in (out / "sft_log.jsonl").read_text().splitlines()]
    assert log and {"loss", "dpo", "nll", "margin", "accuracy"} <= set(log[0])
    assert (out / "adapter" / "adapter_model.safetensors").is_file()


def _last_json(output: str) -> dict:
    """The command's JSON object: the output's last line holding one (progress bars on
    stderr, which the test runner mixes in without a newline, may precede it)."""
    line = next(line for line in reversed(output.splitlines()) if '{"' in line)
    return json.loads(line[line.index('{"'):])
