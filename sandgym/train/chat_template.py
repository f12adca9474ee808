"""A tokenizer whose chat template renders tool calls, for TRL's environment adapter.

Kept apart from the adapter: it is about the model's template, not about envs.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["tool_calling_tokenizer"]


def tool_calling_tokenizer(tokenizer: Any) -> Any:
    """The tokenizer itself when its chat template renders tools, else a ChatML copy that does.

    TRL needs a template that renders ``tool_calls`` and ``tool`` messages and a parser
    for the model's tool calls. Small ChatML models (SmolLM2) ship a template without
    tools; their vocabulary has ``<|im_start|>`` / ``<|im_end|>``, so the Qwen2.5 ChatML
    tool template (which TRL knows how to parse) renders the same turns plus tools.

    Raises:
        ValueError: the template renders no tools and the tokenizer is not ChatML.
    """
    import copy

    from trl.chat_template_utils import qwen2_5_chat_template, supports_tool_calling

    if supports_tool_calling(tokenizer):
        return tokenizer
    vocab = tokenizer.get_vocab()
    template = tokenizer.chat_template if isinstance(tokenizer.chat_template, str) else ""
    if "<|im_start|>" in template and "<|im_start|>" in vocab and "<|im_end|>" in vocab:
        tool_tokenizer = copy.deepcopy(tokenizer)
        tool_tokenizer.chat_template = qwen2_5_chat_template
        logger.info("the chat template of %s renders no tools; using the ChatML tool template",
                    getattr(tokenizer, "name_or_path", "the tokenizer"))
        return tool_tokenizer
    raise ValueError("the tokenizer's chat template cannot render tool calls, and it is not a "
                     "ChatML template this adapter can extend; give GRPOTrainer a tokenizer "
                     "whose chat template supports tools (e.g. a Qwen or Llama 3.1 model)")
