"""Find the code in a model's reply: a fenced block, or the whole reply."""

from __future__ import annotations

import re

__all__ = ["extract_code", "fenced_blocks"]

_FENCE = re.compile(
    r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+#.-]*)[^\n]*\n"
    r"(?P<body>.*?)"
    r"(?:^[ \t]*(?P=fence)[ \t]*$|\Z)",
    re.S | re.M,
)
_PYTHON_TAGS = {"python", "py", "python3", "py3", ""}


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """Every fenced block as (language tag in lower case, body); an open fence runs to the end."""
    return [(m.group("lang").lower(), m.group("body")) for m in _FENCE.finditer(text)]


def extract_code(text: str, entry_point: str | None = None) -> str:
    """The code of a reply.

    Models answer in prose with fenced blocks, or with bare code. The rule is: among
    the Python-tagged (or untagged) fenced blocks, the first that defines
    ``entry_point``; else the code before the first fence when it defines
    ``entry_point`` (bare code closed by a stray fence); else the first Python block;
    else the first fenced block of any language; with no fence at all, the whole reply.

    Example:
        >>> extract_code("Here:\\n```python\\ndef f():\\n    return 1\\n```\\nDone.", "f")
        'def f():\\n    return 1\\n'
    """
    blocks = fenced_blocks(text)
    if not blocks:
        return text
    python = [body for lang, body in blocks if lang in _PYTHON_TAGS] or [b for _, b in blocks]
    if entry_point:
        defines = re.compile(rf"^(async\s+)?def\s+{re.escape(entry_point)}\s*\(", re.M)
        for body in python:
            if defines.search(body):
                return body
        before_fences = text[: _FENCE.search(text).start()]
        if defines.search(before_fences):
            return before_fences
    return python[0]
