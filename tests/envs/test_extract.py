"""Code extraction from model replies."""

from __future__ import annotations

import random
import re

import pytest

from sandgym.envs.code import extract
from sandgym.envs.code.extract import extract_code, fenced_blocks


def test_bare_code_is_taken_whole():
    assert extract_code("def f():\n    return 1\n", "f") == "def f():\n    return 1\n"


def test_python_block_is_extracted_from_prose():
    reply = "Sure!\n```python\ndef f():\n    return 1\n```\nThis returns 1."
    assert extract_code(reply, "f") == "def f():\n    return 1\n"


def test_block_defining_the_entry_point_wins_over_an_earlier_example():
    reply = ("Usage:\n```python\nprint(f())\n```\nCode:\n```python\ndef f():\n"
             "    return 2\n```\n")
    assert extract_code(reply, "f") == "def f():\n    return 2\n"


def test_python_tagged_block_preferred_over_other_languages():
    reply = "```bash\npip install x\n```\n```py\nx = 1\n```"
    assert extract_code(reply) == "x = 1\n"


def test_unterminated_fence_runs_to_the_end():
    assert extract_code("```python\ndef f():\n    return 3", "f") == "def f():\n    return 3"


def test_fenced_blocks_lists_language_and_body():
    assert fenced_blocks("```Python\na\n```\n~~~\nb\n~~~") == [("python", "a\n"), ("", "b\n")]


def test_bare_code_closed_by_a_stray_fence_is_the_code():
    reply = "def f(x):\n    return x + 1\n\n# done\n```\n"
    assert extract_code(reply, "f") == "def f(x):\n    return x + 1\n\n# done\n"
    # a fenced block that defines the entry point still wins over code before it
    both = "def f(x):\n    return 0\n```python\ndef f(x):\n    return x\n```\n"
    assert extract_code(both, "f") == "def f(x):\n    return x\n"


# ---------------------------------------------------------------- untrusted, huge replies

# The regex extract.py used before it scanned line by line: the reference for what the
# answer must be. It is quadratic on long backtick runs, so only small inputs go to it.
_REFERENCE_FENCE = re.compile(
    r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+#.-]*)[^\n]*\n"
    r"(?P<body>.*?)"
    r"(?:^[ \t]*(?P=fence)[ \t]*$|\Z)",
    re.S | re.M,
)


def _reference_blocks(text: str) -> list[tuple[str, str]]:
    return [(m.group("lang").lower(), m.group("body")) for m in _REFERENCE_FENCE.finditer(text)]


def _reference_extract(text: str, entry_point: str | None) -> str:
    blocks = _reference_blocks(text)
    if not blocks:
        return text
    python = [b for lang, b in blocks if lang in {"python", "py", "python3", "py3", ""}] or \
        [b for _, b in blocks]
    if entry_point:
        defines = re.compile(rf"^(async\s+)?def\s+{re.escape(entry_point)}\s*\(", re.M)
        for body in python:
            if defines.search(body):
                return body
        before = text[: _REFERENCE_FENCE.search(text).start()]
        if defines.search(before):
            return before
    return python[0]


_PIECES = ["`", "```", "````", "~~~", "~~~~", "\n", "\n", "\n", " ", "\t", "\r", "python",
           "py", "Python", "bash", "def f(", "def f():\n    return 1", "async def f(", "x",
           "é", "#", "+", ".", "-"]


def test_same_blocks_and_code_as_the_reference_on_random_replies():
    rng = random.Random(10)
    for _ in range(5000):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 30)))
        assert fenced_blocks(text) == _reference_blocks(text), text
        for entry_point in (None, "f"):
            assert extract_code(text, entry_point) == _reference_extract(text, entry_point), text


@pytest.fixture
def work(monkeypatch):
    """Count what the scanner reads: the span each line check is given, and how often.

    Linear work is a structural property here: every line of the reply is given to
    exactly one check (opening fence or closing fence) and a check reads only its own
    line, so the characters read add up to at most the reply's length.
    """
    seen = {"checks": 0, "chars": 0}
    opener = extract._OPEN

    class CountingOpener:
        def match(self, text, pos, endpos):
            seen["checks"] += 1
            seen["chars"] += endpos - pos
            return opener.match(text, pos, endpos)

    closer = extract._is_closer

    def counting_closer(text, start, end, fence):
        seen["checks"] += 1
        seen["chars"] += end - start
        return closer(text, start, end, fence)

    monkeypatch.setattr(extract, "_OPEN", CountingOpener())
    monkeypatch.setattr(extract, "_is_closer", counting_closer)
    return seen


def _linear(work: dict[str, int], text: str, call):
    """call(text), checking that it read each line once and no character twice."""
    work.update(checks=0, chars=0)
    result = call(text)
    assert work["checks"] <= text.count("\n") + 1
    assert work["chars"] <= len(text)
    return result


def test_a_megabyte_of_backticks_without_a_newline_is_prose(work):
    text = "`" * 1_500_000
    assert _linear(work, text, lambda t: extract_code(t, "f")) == text


def test_a_megabyte_long_fence_opens_a_block(work):
    text = "`" * 1_000_000 + "python\ndef f():\n    return 1\n" + "`" * 999_999 + "\n"
    # a shorter run is not the same fence, so the block runs to the end
    assert _linear(work, text, lambda t: extract_code(t, "f")) == \
        "def f():\n    return 1\n" + "`" * 999_999 + "\n"


def test_many_fences_are_scanned_once(work):
    decoy = "Example:\n```python\nprint(f(1))\n```\n~~~bash\nls\n~~~\n"
    text = decoy * 30_000 + "```python\ndef f(x):\n    return x\n```\n"
    assert len(text) > 1_000_000
    assert _linear(work, text, lambda t: extract_code(t, "f")) == "def f(x):\n    return x\n"
    assert _linear(work, text, extract_code) == "print(f(1))\n"
    assert len(_linear(work, text, fenced_blocks)) == 60_001


def test_nested_fences_close_only_on_their_own_length(work):
    depth = 1400  # fences of 3 .. 1402 backticks, opened then closed: ~2 MB
    opening = "".join("`" * k + "python\n" for k in range(3, depth + 3))
    closing = "".join("`" * k + "\n" for k in range(depth + 2, 2, -1))
    text = opening + "def f():\n    return 2\n" + closing
    assert len(text) > 1_900_000
    # the first (shortest) fence holds everything up to its own closing line
    body = text[len("```python\n"): -len("```\n")]
    assert _linear(work, text, fenced_blocks) == [("python", body)]
    assert _linear(work, text, lambda t: extract_code(t, "f")) == body


def test_long_indents_and_unclosed_lines(work):
    text = (" " * 700_000 + "x\n") + ("\t" * 300_000 + "``\n") * 2 + "~" * 300_000
    assert _linear(work, text, lambda t: extract_code(t, "f")) == text
