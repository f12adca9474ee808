"""Find the code in a model's reply: a fenced block, or the whole reply.

The reply is scanned once, line by line: every line is looked at by exactly one
check (does it open a fence, or does it close the open one), and each check reads
only its own line. The work is therefore linear in the reply's length whatever it
holds (a megabyte of backticks, thousands of fences), which matters because replies
are untrusted and are parsed on the host.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["extract_code", "fenced_blocks"]

# An opening fence: optional indent, three or more backticks or tildes, an optional
# language tag; the rest of the line is ignored. Matched against one line at a time
# (``endpos`` = end of line), so it cannot run past the line.
_OPEN = re.compile(r"[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+#.-]*)")
_PYTHON_TAGS = {"python", "py", "python3", "py3", ""}


def _is_closer(text: str, start: int, end: int, fence: str) -> bool:
    """Whether text[start:end] (one line) is exactly the fence, give or take spaces/tabs."""
    return end - start >= len(fence) and text[start:end].strip(" \t") == fence


def _scan(text: str) -> Iterator[tuple[int, str, str]]:
    """Each fenced block as (offset of its opening line, language tag, body).

    A block opens on a line that starts (after spaces/tabs) with ``` or ~~~ (three or
    more) and is followed by a newline; it closes on the first later line that is
    exactly the same fence (spaces/tabs around it allowed), or runs to the end.
    """
    size = len(text)
    opened: tuple[int, str, str, int] | None = None  # (start, fence, lang, body start)
    start = 0
    while start <= size:
        end = text.find("\n", start)
        if end < 0:
            end = size
        if opened is None:
            match = _OPEN.match(text, start, end)
            if match is not None and end < size:  # an opening line needs its newline
                opened = (start, match.group("fence"), match.group("lang"), end + 1)
        elif _is_closer(text, start, end, opened[1]):
            yield opened[0], opened[2], text[opened[3]:start]
            opened = None
        start = end + 1
    if opened is not None:  # an open fence runs to the end
        yield opened[0], opened[2], text[opened[3]:]


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """Every fenced block as (language tag in lower case, body); an open fence runs to the end."""
    return [(lang.lower(), body) for _, lang, body in _scan(text)]


def extract_code(text: str, entry_point: str | None = None) -> str:
    """The code of a reply.

    Models answer in prose with fenced blocks, or with bare code. The rule is: among
    the Python-tagged (or untagged) fenced blocks, the first that defines
    ``entry_point``; else the code before the first fence when it defines
    ``entry_point`` (bare code closed by a stray fence); else the first Python block;
    else the first fenced block of any language; with no fence at all, the whole reply.
    Linear in the reply's length.

    Example:
        >>> extract_code("Here:\\n```python\\ndef f():\\n    return 1\\n```\\nDone.", "f")
        'def f():\\n    return 1\\n'
    """
    blocks = list(_scan(text))
    if not blocks:
        return text
    python = ([body for _, lang, body in blocks if lang.lower() in _PYTHON_TAGS]
              or [body for _, _, body in blocks])
    if entry_point:
        defines = re.compile(rf"^(async\s+)?def\s+{re.escape(entry_point)}\s*\(", re.M)
        for body in python:
            if defines.search(body):
                return body
        before_fences = text[: blocks[0][0]]
        if defines.search(before_fences):
            return before_fences
    return python[0]
