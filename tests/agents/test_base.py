"""SamplingParams validation, stop-string cutting and the scripted policy (pure logic)."""

from __future__ import annotations

import re

import pytest

from sandgym.agents import Generation, SamplingParams, ScriptedPolicy, ScriptExhaustedError
from sandgym.agents.base import truncate_at_stop


def test_sampling_defaults_are_greedy() -> None:
    params = SamplingParams()
    assert params.greedy and params.temperature == 0.0 and params.max_new_tokens == 256
    assert not SamplingParams(temperature=0.7).greedy


def test_sampling_accepts_one_stop_string() -> None:
    assert SamplingParams(stop="\n\n").stop == ["\n\n"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"temperature": -1.0}, "temperature must be a number >= 0 (0.0 = greedy), got -1.0"),
    ({"temperature": float("nan")}, "temperature must be a number >= 0"),
    ({"top_p": 0.0}, "top_p must be in (0, 1], got 0.0; use 1.0"),
    ({"top_p": 1.5}, "top_p must be in (0, 1], got 1.5"),
    ({"max_new_tokens": 0}, "max_new_tokens must be an int >= 1, got 0"),
    ({"max_new_tokens": 2.5}, "max_new_tokens must be an int >= 1, got 2.5"),
    ({"stop": ["ok", ""]}, "stop must be a list of non-empty strings"),
    ({"seed": "1"}, "seed must be an int or None, got '1'"),
])
def test_sampling_rejects_bad_values_with_the_fix(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        SamplingParams(**kwargs)


def test_truncate_at_stop_cuts_before_the_earliest_stop() -> None:
    assert truncate_at_stop("a END b STOP c", ["STOP", "END"]) == ("a ", True)
    assert truncate_at_stop("nothing here", ["STOP"]) == ("nothing here", False)
    assert truncate_at_stop("x", []) == ("x", False)


def test_scripted_list_replies_by_turn_number() -> None:
    policy = ScriptedPolicy(["one", "two"])
    first = [{"role": "user", "content": "a"}]
    second = first + [{"role": "assistant", "content": "one"}, {"role": "user", "content": "b"}]
    # In one batch, each conversation gets the reply of its own turn.
    assert [g.text for g in policy.generate([second, first])] == ["two", "one"]
    gen = policy.generate([first])[0]
    assert gen.finish_reason == "stop" and gen.token_ids == [] and gen.logprobs == []


def test_scripted_list_runs_out_with_a_clear_error() -> None:
    policy = ScriptedPolicy(["only"], name="oracle")
    conv = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "only"},
            {"role": "user", "content": "b"}]
    with pytest.raises(ScriptExhaustedError,
                       match=re.escape("ScriptedPolicy 'oracle' has 1 replies but the "
                                       "conversation asks for reply 2")):
        policy.generate([conv])
    assert ScriptedPolicy(["x", "y"], cycle=True).generate([conv + conv[1:]])[0].text == "x"


def test_scripted_function_may_return_text_or_generation() -> None:
    conv = [{"role": "user", "content": "hello"}]
    assert ScriptedPolicy(lambda m: m[-1]["content"].upper()).generate([conv])[0].text == "HELLO"
    gen = Generation(text="t", token_ids=[1, 2], logprobs=[-0.1, -0.2])
    assert ScriptedPolicy(lambda m: gen).generate([conv])[0] is gen
    with pytest.raises(TypeError, match="must return a str or a Generation"):
        ScriptedPolicy(lambda m: 3).generate([conv])


def test_scripted_rejects_bad_scripts() -> None:
    with pytest.raises(TypeError, match=re.escape("wrap it: ScriptedPolicy([text])")):
        ScriptedPolicy("just one string")
    with pytest.raises(ValueError, match="at least one reply"):
        ScriptedPolicy([])


@pytest.mark.parametrize(("text", "end"), [
    ("```python\nx = 1\n```\nprose", len("```python\nx = 1\n```")),
    ("Here:\n```\nx\n```", len("Here:\n```\nx\n```")),
    ("  ```py\nx\n  ```  \ntail", len("  ```py\nx\n  ```  ")),
    ("```python\nx = 1\n", None),                # still open
    ("```python", None),                         # the opening line is not finished
    ("```python\nx = 1\n```tail", None),         # not a closing line: still open
    ("use ```x``` inline\n```py\ny\n```", len("use ```x``` inline\n```py\ny\n```")),
    ("```bash\npip x\n```\n```python\ny\n```\n", len("```bash\npip x\n```\n```python\ny\n```")),
    ("```bash\npip x\n```\nthen", None),          # only a block of another language
    ("~~~python\nx\n~~~\n", len("~~~python\nx\n~~~")),
    ("````python\n```\nx\n````", len("````python\n```\nx\n````")),
    ("no code at all", None),
])
def test_code_block_end(text: str, end: int | None) -> None:
    from sandgym.agents.base import code_block_end

    assert code_block_end(text) == end
