"""Play scenarios with a learner `TextAgent` and keep each episode as a record.

The records are what `export.scenario_sft_rows` turns into SOTOPIA-π's SFT data: the
learner's conversation (its brief as the user's first message, its lines as the
assistant's, the partner's as the user's) and the judged scores.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sandgym.envs.social.peers import TextAgent, ask
from sandgym.envs.social.scenario_env import ScenarioEnv

__all__ = ["play_scenarios", "scenario_record_schema"]


def scenario_record_schema() -> Any:
    """The Parquet schema of scenario episode records."""
    import pyarrow as pa

    return pa.schema([("scenario_id", pa.string()), ("category", pa.string()),
                      ("messages", pa.string()), ("goal", pa.int32()),
                      ("reward", pa.float64()), ("scores", pa.string()),
                      ("rules", pa.string()), ("judge_errors", pa.string())])


def play_scenarios(env: ScenarioEnv, learner: TextAgent, scenario_ids: list[str] | None = None,
                   *, on_record: Callable[[dict[str, Any]], None] | None = None
                   ) -> list[dict[str, Any]]:
    """One episode per scenario; returns the records (also passed to ``on_record``)."""
    records = []
    for scenario_id in scenario_ids or env.task_ids:
        obs, _ = env.reset(options={"task_id": scenario_id})
        messages = [{"role": "user", "content": obs}]
        terminated = truncated = False
        info: dict[str, Any] = {}
        while not (terminated or truncated):
            line = ask(learner, [messages], what="learner")[0]
            messages.append({"role": "assistant", "content": line})
            obs, reward, terminated, truncated, info = env.step(line)
            if not (terminated or truncated):
                messages.append({"role": "user", "content": obs})
        scores = info.get("scores", {})
        record = {"scenario_id": scenario_id, "category": env.scenario.category,
                  "messages": json.dumps(messages), "goal": scores.get("goal"),
                  "reward": info.get("reward"),
                  "scores": json.dumps(scores), "rules": json.dumps(info.get("rules", {})),
                  "judge_errors": json.dumps(info.get("judge", {}).get("errors", {}))}
        records.append(record)
        if on_record is not None:
            on_record(record)
    return records
