"""Preference pairs from execution feedback (`dpo_pairs(passed_over_failed=True)`) and the
RPO step (`sandgym.train.preference`): the pairing, then real steps on the default model."""

from __future__ import annotations

import pytest

from sandgym.agents.trajectory import Trajectory
from sandgym.train.export import dpo_pairs
from sandgym.train.preference import PreferenceSettings, train_preference

PROMPT = [{"role": "system", "content": "Answer with one python code block."},
          {"role": "user", "content": "Write add(a, b) returning a + b."}]


def _episode(task: str, reply: str, reward: float, status: str,
             sandbox_error: bool = False) -> Trajectory:
    return Trajectory(episode_id=f"{task}-{reply}", env_id="e", task_id=task,
                      messages=[*PROMPT, {"role": "assistant", "content": reply}],
                      rewards=[reward], verdicts=[{"status": status}], final_reward=reward,
                      sandbox_error=sandbox_error, num_turns=1)


def test_rpo_pairs_put_a_passed_reply_over_a_failed_one_never_partial_credit():
    episodes = [_episode("a", "right", 1.0, "pass"),
                _episode("a", "half right", 0.5, "fail"),   # partial credit, still failed
                _episode("a", "wrong", 0.0, "fail"),
                _episode("a", "crashed sandbox", 0.0, "error", sandbox_error=True),
                _episode("b", "half", 0.5, "fail"), _episode("b", "none", 0.0, "fail")]
    pairs = dpo_pairs(episodes, max_pairs_per_task=4, passed_over_failed=True)
    assert [(p["task_id"], p["chosen"][0]["content"], p["rejected"][0]["content"])
            for p in pairs] == [("a", "right", "wrong"), ("a", "right", "half right")]
    assert all(p["prompt"] == PROMPT for p in pairs)
    # Ranked by reward alone, a half-right failure would be a reply to imitate.
    plain = dpo_pairs(episodes, max_pairs_per_task=4)
    assert ("b", "half") in {(p["task_id"], p["chosen"][0]["content"]) for p in plain}


def test_no_pairs_is_refused_before_loading_a_model(tmp_path):
    with pytest.raises(ValueError, match="no preference pairs"):
        train_preference(tmp_path / "nowhere", [], tmp_path / "adapter", PreferenceSettings())


def test_rpo_steps_raise_the_passed_reply_over_the_failed_one(model_path, tmp_path):
    """A few real steps on one pair: the adapter starts at the reference (margin 0), the
    DPO margin then grows, and the saved adapter loads as a policy."""
    from sandgym.agents import TransformersPolicy

    pairs = [{"task_id": "add", "prompt": PROMPT,
              "chosen": [{"role": "assistant",
                          "content": "```python\ndef add(a, b):\n    return a + b\n```"}],
              "rejected": [{"role": "assistant",
                            "content": "```python\ndef add(a, b):\n    return a - b\n```"}]}]
    rows: list[dict] = []
    losses = train_preference(model_path, pairs, tmp_path / "adapter",
                              PreferenceSettings(learning_rate=1e-3, epochs=4, batch_size=1),
                              log=rows.append)
    assert len(losses) == len(rows) == 4
    assert rows[0]["margin"] == pytest.approx(0.0, abs=1e-3)  # LoRA B starts at zero
    assert rows[-1]["margin"] > rows[0]["margin"] + 1.0
    assert rows[-1]["dpo"] < rows[0]["dpo"]
    assert (tmp_path / "adapter" / "adapter_config.json").exists()
    policy = TransformersPolicy(tmp_path / "adapter", name="rpo")
    policy.close()
