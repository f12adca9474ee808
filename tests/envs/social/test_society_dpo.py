"""A society run with the real default model, its DPO export, and 2 real DPO steps.

The authors are SmolLM2-135M-Instruct (sampled); the peers are the scripted
`LengthRater`, whose ratings always parse, so the export's best/worst pairs exist
whatever the small model writes. (The model as its own rater is measured by
`sandgym social simulate`; see docs/social.md.)
"""

from __future__ import annotations

import pytest

from sandgym.envs.social import Society, SocietyConfig, read_records, record_schema
from sandgym.envs.social.export import society_dpo_rows, society_ranked_rows
from sandgym.envs.social.scripted import LengthRater
from sandgym.envs.social.storage import ParquetSink
from sandgym.train.export import save_rows


@pytest.fixture(scope="module")
def policy():
    from sandgym.agents import TransformersPolicy, default_model_path

    with TransformersPolicy(default_model_path()) as p:
        yield p


def test_society_run_exports_dpo_pairs_that_train_two_dpo_steps(policy, tmp_path):
    import torch
    from datasets import load_from_disk
    from peft import LoraConfig
    from trl import DPOConfig, DPOTrainer

    from sandgym.agents import SamplingParams

    # Budgets alternate by position (4 and 32 tokens), so revisions of one question
    # differ in length, and so in the length rater's score, whatever is sampled.
    budgets = [SamplingParams(temperature=1.0, max_new_tokens=n, seed=1) for n in (4, 32)]

    def author(conversations):
        replies = {}
        for parity, sampling in enumerate(budgets):
            picked = list(range(parity, len(conversations), 2))
            gens = policy.generate([conversations[i] for i in picked], sampling)
            replies.update(zip(picked, (g.text for g in gens), strict=True))
        return [replies[i] for i in range(len(conversations))]

    run = tmp_path / "society.parquet"
    society = Society(author, LengthRater(words_per_point=4),
                      config=SocietyConfig(agents=5, rounds=1, seed=3))
    with ParquetSink(run, record_schema()) as sink:
        stats = society.run(sink=sink.write)
    records = read_records(run)
    assert stats.answers == 10 and stats.missing == 0 and len(records) == sink.rows
    rows = society_dpo_rows(records, min_gap=2.0)
    assert rows, "revisions of 4 and 32 tokens of one question should differ by 2 points"
    for row in rows:
        assert row["chosen_rating"] - row["rejected_rating"] >= 2.0
    assert society_ranked_rows(records)[0]["ratings"] == sorted(
        society_ranked_rows(records)[0]["ratings"], reverse=True)
    out = save_rows(rows, tmp_path / "dpo", kind="social-dpo", stats={})
    dataset = load_from_disk(str(out)).select_columns(["prompt", "chosen", "rejected"])
    dataset = dataset.select([i % len(dataset) for i in range(2)])

    model, tokenizer = policy.model, policy.tokenizer
    args = DPOConfig(output_dir=str(tmp_path / "dpo-run"), max_steps=2,
                     per_device_train_batch_size=1, learning_rate=1e-3, logging_steps=1,
                     save_strategy="no", report_to="none", use_cpu=True, max_length=128,
                     dataloader_pin_memory=False, disable_tqdm=True)
    trainer = DPOTrainer(model=model, args=args, train_dataset=dataset,
                         processing_class=tokenizer,
                         peft_config=LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0,
                                                target_modules=["q_proj", "v_proj"],
                                                task_type="CAUSAL_LM"))
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()
              if "lora_B" in n}
    trainer.train()
    assert trainer.state.global_step == 2
    after = dict(trainer.model.named_parameters())
    assert any(not torch.equal(before[n], after[n].detach()) for n in before)
