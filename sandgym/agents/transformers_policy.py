"""`TransformersPolicy`: a local causal LM, batched, on CPU or GPU.

The policy renders each conversation with the tokenizer's chat template and decodes the
batch with `sandgym.agents.decoding.decode_batch`, which drops each row from the batch
as soon as it ends (an end-of-turn token, a stop string, or the end of a code block when
asked) and prefills identical prompts once. Log-probabilities are taken before
temperature/top-p, so they are the model's raw next-token distribution — exactly what a
forward pass over prompt + completion gives, which is what a trainer (importance
ratios, KL) recomputes.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandgym.agents.base import (
    Conversation,
    Generation,
    Policy,
    SamplingParams,
    code_block_end,
)

if TYPE_CHECKING:
    import torch

__all__ = ["TransformersPolicy", "load_model"]

logger = logging.getLogger(__name__)


def load_model(path: str | os.PathLike[str], *, device: str | None = None,
               device_map: str | dict[str, Any] | None = None,
               dtype: str | torch.dtype | None = None) -> tuple[Any, Any]:
    """Load a local causal LM and its tokenizer, never contacting a model hub.

    Shared by `TransformersPolicy` and the trainer, so both see the same weights, dtype
    and padding conventions.

    Args:
        path: a directory with ``config.json``, weights and a tokenizer, or a LoRA
            adapter directory (``adapter_config.json``, as `sandgym train grpo` saves),
            whose base model is loaded with the adapter merged in.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...; default CUDA when available.
            Ignored when ``device_map`` is given.
        device_map: passed to ``from_pretrained`` (e.g. ``"auto"`` to spread a large
            model over several GPUs; needs accelerate).
        dtype: ``torch.float32``, ``"bfloat16"``...; default float32 on CPU (bf16 is
            slow and imprecise there) and bfloat16 on CUDA.

    Returns:
        ``(model, tokenizer)``, the model in eval mode, the tokenizer padding on the left.

    Raises:
        FileNotFoundError: ``path`` is not a model directory.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(path).expanduser()
    adapter = path if (path / "adapter_config.json").is_file() else None
    if adapter is not None:
        # A LoRA adapter (e.g. `sandgym train grpo`'s adapter/): its base model, with
        # the adapter merged in, so generation costs what the base model's does.
        base = json.loads((adapter / "adapter_config.json").read_text())
        path = Path(base.get("base_model_name_or_path") or "").expanduser()
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"the adapter {adapter} names base model {str(path)!r}, "
                                    "which is not a local model directory")
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path} is not a model directory (no config.json); give a "
                                "directory written by save_pretrained, or 'default'")
    if device_map is None:
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if dtype is None:
        on_gpu = device_map is not None or str(device).startswith("cuda")
        dtype = torch.bfloat16 if on_gpu else torch.float32
    elif isinstance(dtype, str) and dtype != "auto":
        dtype = getattr(torch, dtype)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, device_map=device_map,
                                                 local_files_only=True)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    if device_map is None:
        model.to(device)
    model.eval()
    has_tokenizer = adapter is not None and (adapter / "tokenizer_config.json").is_file()
    tokenizer = AutoTokenizer.from_pretrained(adapter if has_tokenizer else path,
                                              local_files_only=True)
    _prepare_tokenizer(tokenizer, model)
    return model, tokenizer


def _prepare_tokenizer(tokenizer: Any, model: Any) -> None:
    tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    if getattr(tokenizer, "chat_template", None) is None:
        raise ValueError(f"the tokenizer of {model.name_or_path!r} has no chat template; pass "
                         "a tokenizer with one (tokenizer.chat_template = ...)")


class TransformersPolicy(Policy):
    """A local Hugging Face causal LM as a policy, with batched left-padded generation.

    Args:
        model: a model directory, or an already loaded ``PreTrainedModel``.
        tokenizer: its tokenizer; loaded from the directory (or the model's
            ``name_or_path``) when omitted. It must have a chat template.
        device: see `load_model`; ignored for an already loaded model.
        device_map: see `load_model`.
        dtype: see `load_model`.
        batch_size: most conversations per ``model.generate`` call (None = all at once);
            bounds memory for large batches.
        name: recorded in trajectories; default the directory name.

    Example:
        >>> from sandgym.agents import TransformersPolicy, SamplingParams, default_model_path
        >>> policy = TransformersPolicy(default_model_path())
        >>> gen = policy.generate([[{"role": "user", "content": "Say hi"}]],
        ...                       SamplingParams(max_new_tokens=8))[0]
        >>> len(gen.token_ids) == len(gen.logprobs)
        True
    """

    def __init__(self, model: str | os.PathLike[str] | Any, tokenizer: Any | None = None, *,
                 device: str | None = None, device_map: str | dict[str, Any] | None = None,
                 dtype: str | torch.dtype | None = None, batch_size: int | None = None,
                 name: str | None = None) -> None:
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be >= 1 or None, got {batch_size}")
        if isinstance(model, (str, os.PathLike)):
            self.model, loaded_tok = load_model(model, device=device, device_map=device_map,
                                                dtype=dtype)
            self._tokenizer = tokenizer or loaded_tok
            default_name = Path(model).name
        else:
            from transformers import AutoTokenizer

            self.model = model
            self._tokenizer = tokenizer or AutoTokenizer.from_pretrained(
                model.name_or_path, local_files_only=True)
            default_name = Path(str(model.name_or_path)).name or type(model).__name__
        _prepare_tokenizer(self._tokenizer, self.model)
        self.batch_size = batch_size
        self.name = name or default_name
        self._eos_ids = self._end_of_turn_ids()

    @property
    def tokenizer(self) -> Any:
        """The tokenizer (left padding, chat template) used to build prompts."""
        return self._tokenizer

    @property
    def device(self) -> torch.device:
        """Where input ids go: the device of the input embeddings."""
        return self.model.get_input_embeddings().weight.device

    def _end_of_turn_ids(self) -> list[int]:
        ids: set[int] = set()
        for source in (self.model.generation_config.eos_token_id, self._tokenizer.eos_token_id):
            if isinstance(source, int):
                ids.add(source)
            elif source is not None:
                ids.update(source)
        if not ids:
            raise ValueError("the model has no eos_token_id (generation_config or tokenizer); "
                             "set model.generation_config.eos_token_id to its end-of-turn token")
        return sorted(ids)

    def encode_prompt(self, conversation: Conversation) -> list[int]:
        """Token ids of ``conversation`` rendered by the chat template, ready to generate."""
        text = self._tokenizer.apply_chat_template(list(conversation), tokenize=False,
                                                   add_generation_prompt=True)
        return list(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def generate(self, conversations: Sequence[Conversation],
                 sampling: SamplingParams | None = None) -> list[Generation]:
        """Reply to every conversation (see `Policy.generate`).

        Conversations are processed in chunks of ``batch_size``. With ``sampling.seed``
        the call is reproducible (torch's global RNG is forked, not disturbed).
        """
        import torch

        sampling = sampling or SamplingParams()
        prompts = [self.encode_prompt(c) for c in conversations]
        if not prompts:
            return []
        step = self.batch_size or len(prompts)
        devices = [self.device] if self.device.type == "cuda" else []
        results: list[Generation] = []
        with torch.random.fork_rng(devices=devices):
            if sampling.seed is not None:
                torch.manual_seed(sampling.seed)
            for start in range(0, len(prompts), step):
                results.extend(self._generate_batch(prompts[start:start + step], sampling))
        return results

    def _generate_batch(self, prompts: list[list[int]], sampling: SamplingParams,
                        ) -> list[Generation]:
        from sandgym.agents.decoding import decode_batch

        rows = decode_batch(
            self.model, prompts, max_new_tokens=sampling.max_new_tokens,
            eos_ids=self._eos_ids, pad_id=self._tokenizer.pad_token_id,
            temperature=0.0 if sampling.greedy else float(sampling.temperature),
            top_p=float(sampling.top_p), stop_row=self._stop_rule(sampling))
        return [self._finish_row(prompt, row.token_ids, row.logprobs, sampling)
                for prompt, row in zip(prompts, rows, strict=True)]

    def _stop_rule(self, sampling: SamplingParams) -> Callable[[list[int]], bool] | None:
        """When a row's reply is complete before its end-of-turn token (None: never)."""
        if not sampling.stop and not sampling.stop_after_code_block:
            return None

        def done(ids: list[int]) -> bool:
            text = self._decode(ids)
            return (any(s in text for s in sampling.stop)
                    or (sampling.stop_after_code_block and code_block_end(text) is not None))

        return done

    def _finish_row(self, prompt: list[int], ids: list[int], logprobs: list[float],
                    sampling: SamplingParams) -> Generation:
        """Cut one generated row at its end (stop string, end-of-turn token, or budget)."""
        eos_at = next((i for i, t in enumerate(ids) if t in self._eos_ids), None)
        body = ids if eos_at is None else ids[:eos_at]
        text = self._decode(body)
        if sampling.stop_after_code_block:
            end = code_block_end(text)
            if end is not None:
                keep = self._tokens_reaching(body, lambda t: code_block_end(t) is not None)
                return Generation(text=text[:end], token_ids=body[:keep],
                                  logprobs=logprobs[:keep], finish_reason="stop",
                                  prompt_token_ids=prompt)
        if sampling.stop:
            cut = min((i for i in (text.find(s) for s in sampling.stop) if i >= 0), default=-1)
            if cut >= 0:
                keep = self._tokens_reaching(body, lambda t: any(s in t for s in sampling.stop))
                return Generation(text=text[:cut], token_ids=body[:keep],
                                  logprobs=logprobs[:keep], finish_reason="stop",
                                  prompt_token_ids=prompt)
        if eos_at is not None:
            return Generation(text=text, token_ids=ids[:eos_at + 1],
                              logprobs=logprobs[:eos_at + 1], finish_reason="stop",
                              prompt_token_ids=prompt)
        return Generation(text=text, token_ids=ids, logprobs=logprobs, finish_reason="length",
                          prompt_token_ids=prompt)

    def _decode(self, ids: list[int]) -> str:
        return self._tokenizer.decode(ids, skip_special_tokens=True)

    def _tokens_reaching(self, ids: list[int], reached: Callable[[str], bool]) -> int:
        """Fewest leading tokens whose text satisfies ``reached`` (binary search: it is
        monotone, since text only grows)."""
        lo, hi = 1, len(ids)
        while lo < hi:
            mid = (lo + hi) // 2
            if reached(self._decode(ids[:mid])):
                hi = mid
            else:
                lo = mid + 1
        return hi

    def close(self) -> None:
        """Drop the model so its memory can be freed; calling it twice is harmless."""
        self.__dict__.pop("model", None)
