"""OpenAIPolicy against a real `transformers serve` process serving the default model.

The server is started on a free localhost port by a fixture and stopped after the
module. It needs transformers' serving extra (fastapi, uvicorn, openai).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sandgym.agents import OpenAIPolicy, PolicyServerError, SamplingParams, TransformersPolicy

pytestmark = pytest.mark.slow

PROMPTS = [
    [{"role": "user", "content": "Write a Python function add(a, b) that returns a + b."}],
    [{"role": "user", "content": "Say hi"}],
    [{"role": "system", "content": "You are terse."},
     {"role": "user", "content": "Name three colours."}],
]
START_TIMEOUT_S = 240


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(default_model_dir: Path, tmp_path_factory) -> Iterator[tuple[str, str]]:
    """(base_url, model name) of a `transformers serve` pinned to the default model."""
    for module in ("fastapi", "uvicorn", "openai"):
        pytest.importorskip(module, reason="`transformers serve` needs the serving extra: "
                            "pip install 'transformers[serving]'")
    exe = Path(sys.executable).with_name("transformers")
    exe = str(exe) if exe.exists() else shutil.which("transformers")
    port = _free_port()
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    cmd = [exe, "serve", str(default_model_dir), "--host", "127.0.0.1", "--port", str(port),
           "--device", "cpu", "--dtype", "float32"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"transformers serve exited with {proc.returncode}:\n"
                            f"{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"transformers serve did not answer within {START_TIMEOUT_S} s:\n"
                            f"{log_path.read_text()[-3000:]}")
            time.sleep(1)
        yield f"http://127.0.0.1:{port}/v1", str(default_model_dir)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)


def test_served_greedy_answers_match_the_local_policy(
        served: tuple[str, str], default_policy: TransformersPolicy, record_property) -> None:
    url, model = served
    sampling = SamplingParams(max_new_tokens=24)
    remote_policy = OpenAIPolicy(url, model, tokenizer=default_policy.tokenizer,
                                 max_concurrency=2)
    assert remote_policy.check() == [model]
    remote = remote_policy.generate(PROMPTS, sampling)
    local = [default_policy.generate([p], sampling)[0] for p in PROMPTS]
    for gen in remote:
        assert gen.text.strip() and gen.finish_reason in ("stop", "length")
        # transformers serve returns no logprobs; a server that does gives one per token.
        assert gen.logprobs == [] or len(gen.logprobs) == len(gen.token_ids)
        assert gen.prompt_token_ids and gen.token_ids  # from the tokenizer we passed
    matches = sum(r.text == loc.text for r, loc in zip(remote, local, strict=True))
    record_property("greedy_match_rate", f"{matches}/{len(PROMPTS)}")
    print(f"transformers serve vs local greedy: {matches}/{len(PROMPTS)} identical")
    assert matches >= 1, [(r.text, loc.text) for r, loc in zip(remote, local, strict=True)]


def test_served_stop_strings_are_cut_like_local(served: tuple[str, str]) -> None:
    url, model = served
    gen = OpenAIPolicy(url, model).generate(
        PROMPTS[1:2], SamplingParams(max_new_tokens=24, stop=[","]))[0]
    assert gen.text and "," not in gen.text and gen.finish_reason == "stop"


def test_wrong_model_name_against_real_server(served: tuple[str, str]) -> None:
    url, model = served
    with pytest.raises(PolicyServerError,
                       match=re.escape(f"model 'no-such-model' is not served at {url}")) as e:
        OpenAIPolicy(url, "no-such-model", max_retries=0).generate(PROMPTS[1:2])
    assert f"it serves [{model!r}]" in str(e.value)


def test_wrong_url_against_real_server(served: tuple[str, str]) -> None:
    url, model = served
    root = url[: -len("/v1")]
    with pytest.raises(PolicyServerError, match=re.escape(
            f"{root!r} is not the API root of an OpenAI-compatible server; it usually ends "
            "in /v1")):
        OpenAIPolicy(root, model, max_retries=0).generate(PROMPTS[1:2])
