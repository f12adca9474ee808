"""Shared fixtures: the default model is loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def default_model_dir() -> Path:
    """The converted default model (fetched on first use, like `policy="default"`)."""
    from sandgym.agents import default_model_path

    return default_model_path()


@pytest.fixture(scope="session")
def default_policy(default_model_dir: Path):
    """One TransformersPolicy on the default model (float32, CPU) for every test."""
    from sandgym.agents import TransformersPolicy

    policy = TransformersPolicy(default_model_dir, device="cpu", name="default")
    yield policy
    policy.close()
