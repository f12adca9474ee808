"""`make demo`: the main job on embedded defaults, stage by stage.

Each stage prints what it shows and how long it took. Run with
``python -m sandgym.demo`` (the Makefile does the set-up first). The pipeline:
the sandbox image (built if missing) and what a sandbox does to hostile code; the
default model (fetched once); rollouts of that model on a slice of the built-in code
tasks, on a local Ray cluster; then a short GRPO fine-tune (LoRA) from execution
rewards, with its reward curve; and expert iteration (sample, have the sandbox judge,
fine-tune on the verdicts) with the base and the trained model scored on held-out tasks
they never trained on. Sized to finish in under 10 minutes on 2 CPU cores;
outputs go to ``runs/demo/`` (``SANDGYM_DEMO_DIR`` moves them).
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger("sandgym.demo")

ENV_ID = "sandgym/PythonBasics-v0"
"""Env of the rollout and GRPO stages (its ``train`` split): short function tasks that the
default model solves about 40% of the time, so rewards vary within a group (HumanEval,
which it never solves, would show a flat zero)."""
ROLLOUT_TASKS = 10
ROLLOUT_SAMPLES = 2
"""The rollout stage plays 2 sampled episodes of each of the first 10 training tasks."""
GRPO_STEPS = 2
"""GRPO steps of the fine-tune stage (2 prompts x 4 completions each)."""
LEARN_ENV_ID = ENV_ID
LEARN_TRAIN_TASKS = 24
"""Expert iteration trains on the first 24 training tasks..."""
LEARN_ROUNDS = 2
"""...in 2 rounds of 12 fresh tasks each..."""
LEARN_SAMPLES = 3
"""...sampling 3 replies per task (the trainer's defaults take about 10 minutes on an idle
2-core CPU; the demo's stage fits in about 5)."""
LEARN_EVAL_TASKS = 12
"""Base and trained model are scored (greedy) on the first 12 held-out test tasks."""


def out_dir() -> Path:
    """Where the demo writes: ``$SANDGYM_DEMO_DIR`` or ``runs/demo``."""
    return Path(os.environ.get("SANDGYM_DEMO_DIR", "runs/demo"))


def stage_image() -> None:
    """The sandbox image: built unless it is already current."""
    from sandgym.sandbox import build_image, docker_client

    print(f"  image: {build_image(docker_client())} (current)")


def stage_sandbox() -> None:
    """A warm sandbox: speed, and what it does to hostile code."""
    from sandgym.sandbox import DockerSandbox

    with DockerSandbox() as box:
        box.run_python("print(1)")
        start = time.perf_counter()
        for _ in range(50):
            box.run_python("print(1)")
        per_step_ms = (time.perf_counter() - start) / 50 * 1000
        print(f"  warm sandbox step: {per_step_ms:.1f} ms (mean of 50 `print(1)` round trips)")
        showcase = [
            ("infinite loop", "while True: pass"),
            ("fork bomb", "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass"),
            ("memory bomb", "x = []\nwhile True: x.append(bytearray(1 << 24))"),
            ("network", "import socket; socket.create_connection(('1.1.1.1', 53), timeout=2)"),
            ("write /etc", "open('/etc/passwd', 'a').write('x')"),
            ("segfault", "import ctypes; ctypes.string_at(0)"),
        ]
        for name, code in showcase:
            result = box.run_python(code, timeout=2)
            last = (result.stderr.strip().splitlines() or [""])[-1][:70]
            print(f"  {name:<14} -> {result.status:<8} {last}")
        print(f"  and afterwards: {box.run_python('print(6 * 7)').stdout.strip()}")


def stage_model() -> None:
    """The default model, fetched and converted once into the user cache."""
    from sandgym.agents import fetch_default_model

    print(f"  default model: {fetch_default_model()}")


def stage_rollouts() -> None:
    """The default model plays training tasks on a local two-worker Ray cluster.

    The same job as ``sandgym rollout --env sandgym/PythonBasics-v0 --env-arg split=train
    --policy default --limit 10 --samples 2 --workers 2 --out runs/demo/rollouts.parquet``.
    """
    from rich.console import Console

    from sandgym.agents import SamplingParams
    from sandgym.rollouts import RolloutConfig, collect
    from sandgym.rollouts.progress import summary_table

    out = out_dir() / "rollouts.parquet"
    for stale in (out, out.with_name(out.name + ".parts")):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()  # a fresh collection each time, not a resumed one
    result = collect(ENV_ID, "default", out=out, limit=ROLLOUT_TASKS,
                     samples_per_task=ROLLOUT_SAMPLES, num_workers=2,
                     sampling=SamplingParams(temperature=0.8, max_new_tokens=128, seed=0),
                     config=RolloutConfig(batch_size=ROLLOUT_TASKS, pool_size=4,
                                          env_kwargs={"split": "train"}),
                     progress=False)
    Console().print(summary_table(result))
    print(f"  pass rate: {_pct(result.pass_rate)} of {result.episodes} episodes of "
          f"{ENV_ID} (train split) by the default model")
    print(f"  rollouts: {out}  (sandgym export sft|dpo --from {out} --out DIR)")


def stage_grpo() -> None:
    """A short GRPO fine-tune (LoRA) on execution rewards, and its reward curve."""
    from sandgym.train.grpo import GRPORunConfig, train_grpo

    _quiet_training()
    result = train_grpo(GRPORunConfig(env_id=ENV_ID, steps=GRPO_STEPS,
                                      out=str(out_dir() / "grpo"), progress=False))
    s = result.summary
    rewards = ", ".join(f"{r:.2f}" if isinstance(r, float) else "-"
                        for r in s["reward_per_step"])
    print(f"  {s['steps']} GRPO steps on {ENV_ID} (train split; LoRA, 2 prompts x 4 "
          "completions each, replies end after their code block)")
    print(f"  mean reward per step: {rewards}")
    print(f"  sandbox grading: {_pct(s['grading_share'])} of step time")
    print(f"  reward curve: {result.curve_path}")
    print(f"  LoRA adapter: {result.model_dir}")
    print(f"  metrics: {result.metrics_path}")


def stage_learning() -> None:
    """Expert iteration on training tasks; base vs trained on held-out tasks.

    The same job as ``sandgym train rft --objective sft --limit 24 --rounds 2
    --samples-per-task 3 --keep-per-task 2 --epochs 2`` then ``sandgym eval --env
    sandgym/PythonBasics-v0 --env-arg split=test --limit 12 --policy runs/demo/rft``
    for both models. A small slice, to fit the demo's time: the full-size comparison is
    ``sandgym bench learning``. SFT, not the default rpo: a pair costs two replies'
    passes a step plus a greedy decoding a round, and with rpo this stage took 505 s,
    the whole demo 12 minutes; with SFT the demo took 7 to 8 (421 s, 493 s).
    """
    from sandgym.envs.metrics import paired_difference_interval
    from sandgym.rollouts.evaluation import evaluate
    from sandgym.train.rft import RFTRunConfig, train_rft

    _quiet_training()
    run = train_rft(RFTRunConfig(env_id=LEARN_ENV_ID, limit=LEARN_TRAIN_TASKS,
                                 rounds=LEARN_ROUNDS, samples_per_task=LEARN_SAMPLES,
                                 objective="sft", keep_per_task=2, epochs=2,
                                 out=str(out_dir() / "rft"), progress=False))
    s = run.summary
    rates = ", ".join(_pct(r) for r in s["reward_per_round"])
    trained_on = ("(passed, failed) reply pairs" if s["objective"] == "rpo"
                  else "verified replies")
    print(f"  {s['rounds']} rounds, each on its own share of {LEARN_TRAIN_TASKS} training "
          f"tasks ({LEARN_SAMPLES} sampled replies each): pass rate per round {rates}; "
          f"trained a LoRA adapter ({s['objective']}) on {sum(s['examples_per_round'])} "
          f"{trained_on} ({s['sft_s_total']:.0f} s)")
    reports = {name: evaluate(LEARN_ENV_ID, policy, env_kwargs={"split": "test"},
                              limit=LEARN_EVAL_TASKS, max_new_tokens=192, batch_size=32)
               for name, policy in (("base", "default"), ("trained", str(run.out_dir)))}
    base, trained = ({t.task_id: t for t in reports[n].tasks} for n in ("base", "trained"))
    print("  held-out test tasks (never trained on), greedy replies:")
    print(f"  {'task':<34} base  trained")
    for task_id in base:
        print(f"  {task_id:<34} {_mark(base[task_id].passed)}     "
              f"{_mark(trained[task_id].passed)}")
    gain = paired_difference_interval({k: (v.episodes, v.passed) for k, v in base.items()},
                                      {k: (v.episodes, v.passed) for k, v in trained.items()})
    print(f"  pass@1: base {_pct(reports['base'].pass_at_k['pass@1'])}, trained "
          f"{_pct(reports['trained'].pass_at_k['pass@1'])} (gain {gain.estimate:+.1%}, 95% "
          f"interval [{gain.low:+.1%}, {gain.high:+.1%}] over {gain.tasks} tasks)")
    print(f"  adapter: {run.model_dir}; reward curve: {run.curve_path}")


def _mark(passed: int) -> str:
    return "pass" if passed else "fail"


def _pct(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.1%}"


def _quiet_training() -> None:
    """No per-step progress bars or dict dumps: the stage prints its own summary."""
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import warnings

    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="trl")


STAGES: list[tuple[str, Callable[[], None]]] = [
    ("sandbox image", stage_image),
    ("sandbox showcase", stage_sandbox),
    ("default model", stage_model),
    ("rollouts on a local Ray cluster", stage_rollouts),
    ("GRPO fine-tune from execution rewards", stage_grpo),
    ("expert iteration: base vs trained on held-out tasks", stage_learning),
]


def main() -> int:
    """Run every stage in order; stop at the first failure with its error."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    total = time.perf_counter()
    for title, stage in STAGES:
        print(f"== {title}")
        start = time.perf_counter()
        stage()
        print(f"   ({time.perf_counter() - start:.1f} s)")
    print(f"== demo finished in {time.perf_counter() - total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
