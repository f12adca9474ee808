"""The LoRA adapter every trainer here trains, defined once so GRPO, expert iteration
and preference tuning make the same kind of adapter (and one trainer can continue
another's)."""

from __future__ import annotations

from typing import Any

__all__ = ["lora_config"]


def lora_config(r: int, alpha: int) -> Any:
    """A ``peft.LoraConfig`` on every linear layer (PEFT leaves the output head out) with
    no dropout: dropout would make the policy differ from itself between the reference
    pass and the training pass, and the small models trained here do not need it."""
    from peft import LoraConfig

    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=0.0, target_modules="all-linear",
                      task_type="CAUSAL_LM")
