"""Code extraction from model replies."""

from __future__ import annotations

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
