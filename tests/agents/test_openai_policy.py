"""OpenAIPolicy request building, parsing, retries and error messages (fake local server)."""

from __future__ import annotations

import asyncio
import re
import socket

import pytest

from sandgym.agents import OpenAIPolicy, PolicyServerError, SamplingParams
from tests.agents.fake_openai import FakeServer, completion

CONV = [{"role": "user", "content": "hi"}]


def policy(url: str, **kw) -> OpenAIPolicy:
    kw.setdefault("backoff_s", 0.01)
    kw.setdefault("max_retries", 2)
    return OpenAIPolicy(url, "m", **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_request_carries_the_sampling_settings() -> None:
    with FakeServer() as server:
        sampling = SamplingParams(temperature=0.5, top_p=0.9, max_new_tokens=7, stop=["END"],
                                  seed=3)
        gens = policy(server.url, extra_body={"top_k": 5}).generate([CONV, CONV], sampling)
    assert [g.text for g in gens] == ["ok", "ok"]
    body = server.bodies[0]
    assert body["model"] == "m" and body["messages"] == CONV
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.5, 0.9, 7)
    assert body["stop"] == ["END"] and body["seed"] == 3 and body["logprobs"] is True
    assert body["top_k"] == 5


def test_parses_logprobs_and_cuts_a_kept_stop_string() -> None:
    entries = [{"token": "token_id:5", "logprob": -0.5}, {"token": "token_id:9", "logprob": -1.0}]
    answers = [(200, completion("abc STOP", "stop", entries), {})]
    with FakeServer(answers) as server:
        gen = policy(server.url).generate([CONV], SamplingParams(stop=["STOP"]))[0]
    assert gen.text == "abc " and gen.finish_reason == "stop"
    assert gen.token_ids == [5, 9] and gen.logprobs == [-0.5, -1.0]


def test_plain_text_tokens_give_logprobs_without_ids() -> None:
    entries = [{"token": "ab", "logprob": -0.25}]
    with FakeServer([(200, completion("ab", "length", entries), {})]) as server:
        gen = policy(server.url).generate([CONV])[0]
    assert gen.token_ids == [] and gen.logprobs == [-0.25] and gen.finish_reason == "length"


def test_retries_429_and_5xx_then_succeeds() -> None:
    answers = [(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"}),
               (503, "overloaded", {}), (200, completion("fine"), {})]
    with FakeServer(answers) as server:
        assert policy(server.url).generate([CONV])[0].text == "fine"
    assert len(server.bodies) == 3


def test_gives_up_after_bounded_retries_with_the_reason() -> None:
    with FakeServer([(503, {"error": {"message": "model crashed"}}, {})]) as server:
        with pytest.raises(PolicyServerError,
                           match=re.escape("answered 503: model crashed after 3 attempts")) as e:
            policy(server.url).generate([CONV])
    assert len(server.bodies) == 3 and e.value.status_code == 503


def test_unreachable_server_says_check_url_and_server() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(PolicyServerError, match=re.escape("connection failed")) as e:
        policy(url, max_retries=1).generate([CONV])
    assert "after 2 attempts; is the server running, and is the URL right" in str(e.value)
    assert e.value.status_code is None


def test_wrong_model_name_lists_the_served_models() -> None:
    answers = [(404, {"error": {"message": "The model `m` does not exist."}}, {})]
    with FakeServer(answers, models=["served-a", "served-b"]) as server:
        with pytest.raises(PolicyServerError, match=re.escape(
                "model 'm' is not served at " f"{server.url} (answer 404: The model `m` does "
                "not exist.); it serves ['served-a', 'served-b']; use one of these names")):
            policy(server.url).generate([CONV])
        assert len(server.bodies) == 1  # a client error is not retried


def test_wrong_path_says_the_url_should_end_in_v1() -> None:
    with FakeServer(prefix="/v1") as server:
        root = server.url[: -len("/v1")]
        with pytest.raises(PolicyServerError, match=re.escape("it usually ends in /v1")):
            policy(root).generate([CONV])


def test_bad_api_key_says_how_to_set_it() -> None:
    with FakeServer([(401, {"error": {"message": "invalid key"}}, {})]) as server:
        with pytest.raises(PolicyServerError, match="refused the API key; set OPENAI_API_KEY"):
            policy(server.url, api_key="wrong").generate([CONV])


def test_not_a_chat_completion_is_explained() -> None:
    with FakeServer([(200, {"hello": "world"}, {})]) as server:
        with pytest.raises(PolicyServerError, match="answered 200 but not a chat completion"):
            policy(server.url).generate([CONV])


def test_concurrency_is_bounded() -> None:
    with FakeServer(delay_s=0.05) as server:
        gens = policy(server.url, max_concurrency=2).generate([CONV] * 6)
    assert len(gens) == 6 and len(server.bodies) == 6
    assert server.max_in_flight <= 2


def test_works_from_inside_an_event_loop() -> None:
    with FakeServer() as server:
        p = policy(server.url)

        async def main() -> tuple[str, str]:
            sync = p.generate([CONV])[0].text       # runs on a helper thread
            native = (await p.agenerate([CONV]))[0].text
            return sync, native

        assert asyncio.run(main()) == ("ok", "ok")


def test_check_lists_models_and_rejects_unknown_ones() -> None:
    with FakeServer(models=["m", "other"]) as server:
        assert policy(server.url).check() == ["m", "other"]
        with pytest.raises(PolicyServerError, match=re.escape("model 'x' is not served")):
            OpenAIPolicy(server.url, "x").check()


def test_constructor_validates_its_arguments() -> None:
    with pytest.raises(ValueError, match=re.escape("base_url must start with http:// or https://")):
        OpenAIPolicy("localhost:8000/v1", "m")
    with pytest.raises(ValueError, match="model must be the served model's name"):
        OpenAIPolicy("http://x/v1", "")
    assert OpenAIPolicy("http://x/v1/chat/completions/", "m").base_url == "http://x/v1"
