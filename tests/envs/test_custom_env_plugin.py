"""examples/custom_env: a separate package registering its env through the entry point.

It is installed into a temporary directory (no change to the test environment) and
discovered by `import sandgym` in a fresh process and in a Ray worker.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_env"


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory) -> Path:
    """examples/custom_env installed with pip into a throwaway target directory."""
    work = tmp_path_factory.mktemp("plugin")
    source = work / "src"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    site = work / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(site), str(source)],
                   check=True, timeout=300)
    assert (site / "sandgym_example_env" / "tasks.jsonl").is_file()
    return site


def _env(site: Path) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "SANDGYM_POOL_SIZE": "1"}


def run_fresh(site: Path, code: str, timeout: float = 300) -> dict:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=_env(site),
                         capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


CLI = "import sys; from sandgym.cli import main; sys.argv[0] = 'sandgym'; main()"


def run_cli(site: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``sandgym ARGS`` in a fresh process that sees the installed plugin."""
    return subprocess.run([sys.executable, "-c", CLI, *args], env=_env(site),
                          capture_output=True, text=True, timeout=timeout)


def last_json(out: subprocess.CompletedProcess) -> dict:
    assert out.returncode == 0, (out.stdout[-2000:], out.stderr[-4000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_plugin_env_is_discovered_made_and_graded_in_a_fresh_process(plugin_site):
    report = run_fresh(plugin_site, """
        import json, gymnasium, sandgym
        from gymnasium.utils.env_checker import check_env
        info = sandgym.envs.env_info("sandgym/ExampleStrings-v0")
        env = gymnasium.make("sandgym/ExampleStrings-v0")
        check_env(env.unwrapped)
        env.reset(options={"task_id": "example/initials"})
        answer = env.unwrapped.reference_answer("example/initials")
        _, reward, terminated, _, step_info = env.step(answer)
        env.reset(options={"task_id": "example/initials"})
        _, wrong, *_ = env.step("def initials(name):\\n    return name[:1].upper()\\n")
        env.close()
        print(json.dumps({"source": info.source, "family": info.family, "reward": reward,
                          "terminated": terminated, "wrong": wrong,
                          "mode": step_info["reward_components"]["mode"]}))
    """)
    # The wrong answer passes 2 of 3 hidden tests; `return ''` passes 1 of them, so the
    # partial credit is (2 - 1) / (3 - 1).
    assert report == {"source": "example", "family": "example", "reward": 1.0,
                      "terminated": True, "wrong": 0.5, "mode": "fraction"}


def test_plugin_env_is_discovered_in_a_ray_worker(plugin_site):
    report = run_fresh(plugin_site, """
        import json, ray
        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)

        @ray.remote
        def probe():
            import gymnasium, sandgym
            env = gymnasium.make("sandgym/ExampleStrings-v0")  # no sandbox until used
            ids = env.unwrapped.task_ids
            env.close()
            return gymnasium.spec("sandgym/ExampleStrings-v0").entry_point, ids

        entry_point, ids = ray.get(probe.remote(), timeout=240)
        ray.shutdown()
        print(json.dumps({"entry_point": entry_point, "tasks": len(ids)}))
    """)
    assert report == {"entry_point": "sandgym_example_env.env:StringTasksEnv", "tasks": 3}


# --- a plain gymnasium.Env (no sandgym base class) gets what a built-in env gets -------

PLAIN = "sandgym/ExampleWords-v0"


def test_plain_env_registered_with_id_and_entry_point_only_is_listed_and_checked(plugin_site):
    rows = [json.loads(line) for line in
            run_cli(plugin_site, "envs", "list", "--json").stdout.splitlines()]
    by_id = {r["id"]: r for r in rows}
    for env_id in (PLAIN, "sandgym/ExampleWordsGym-v0"):  # sandgym.register, gymnasium.register
        assert by_id[env_id]["family"] == "example" and by_id[env_id]["source"] == "example"
        assert by_id[env_id]["description"].startswith("Word puzzles: reverse a word")
        report = last_json(run_cli(plugin_site, "envs", "check", env_id, "--json"))
        assert report["ok"] and report["check_env"] == "ok", report
        assert report["episode"]["reference_passed"] is True


def test_plain_env_traits_and_contract_defaults(plugin_site):
    report = run_fresh(plugin_site, """
        import json, sandgym
        from sandgym.envs import env_traits
        from sandgym.train.environment import adapter_class, tool_names
        t = env_traits("sandgym/ExampleWords-v0")
        print(json.dumps({"multi_turn": t.multi_turn, "sandboxed": t.sandboxed,
                          "holds_sandbox": t.holds_sandbox, "batch_scoring": t.batch_scoring,
                          "tools": [x.openai_schema()["function"]["name"] for x in t.tools],
                          "adapter_tools": tool_names(adapter_class("sandgym/ExampleWords-v0"))}))
    """)
    assert report == {"multi_turn": False, "sandboxed": False, "holds_sandbox": False,
                      "batch_scoring": False, "tools": ["act"], "adapter_tools": ["act"]}


def test_plain_env_eval_with_the_default_model(plugin_site):
    report = last_json(run_cli(plugin_site, "eval", "--env", PLAIN, "--policy", "default",
                               "--max-new-tokens", "16", "--json"))
    assert (report["tasks"], report["episodes"], report["sandbox_errors"]) == (4, 4, 0)
    assert [t["task_id"] for t in report["per_task"]] == ["reverse/stressed", "reverse/drawer",
                                                          "upper/sandbox", "upper/gym"]
    assert 0.0 <= report["pass@k"]["pass@1"] <= 1.0
    canonical = last_json(run_cli(plugin_site, "eval", "--env", PLAIN, "--json"))
    assert canonical["solved"] == 4 and canonical["pass@k"] == {"pass@1": 1.0}


def test_plain_env_rollout_on_ray(plugin_site, tmp_path):
    out = tmp_path / "words.parquet"
    summary = last_json(run_cli(plugin_site, "rollout", "--env", PLAIN, "--policy", "default",
                                "--workers", "1", "--max-new-tokens", "16", "--out", str(out),
                                "--json"))
    assert summary["episodes"] == 4 and summary["sandbox_errors"] == 0, summary
    from sandgym.rollouts import load_trajectories

    trajs = load_trajectories(out, as_trajectories=True)
    assert sorted(t.task_id for t in trajs) == ["reverse/drawer", "reverse/stressed",
                                                "upper/gym", "upper/sandbox"]
    assert all(t.env_id == PLAIN and t.episode_id.startswith(PLAIN + "|") for t in trajs)


def test_plain_env_trains_one_grpo_step(plugin_site, tmp_path):
    out = tmp_path / "grpo"
    summary = last_json(run_cli(plugin_site, "train", "grpo", "--env", PLAIN, "--steps", "1",
                                "--num-generations", "2", "--max-completion-length", "16",
                                "--max-turns", "1", "--no-progress", "--out", str(out)))
    assert summary["mode"] == "tools" and summary["steps"] == 1, summary
    assert (out / "adapter").is_dir() and (out / "metrics.jsonl").is_file()
