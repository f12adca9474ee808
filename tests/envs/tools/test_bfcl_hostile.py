"""Hostile calls on BFCL multi-turn found by ``benchmarks/tool_fuzz.py``: precision bombs
(``MathAPI.logarithm``/``square_root`` set mpmath's or decimal's precision from an argument: a
precision of 10**7 hung the process) are ``bad_arguments``; the process-wide decimal
context and mpmath precision a call sets do not leak out of it; file-system calls naming
host paths stay in BFCL's in-memory tree; no class module calls into the host."""

from __future__ import annotations

import ast
import decimal
import json
import time
from pathlib import Path

import gymnasium as gym
import pytest

from sandgym.envs.registration import ensure_registered
from sandgym.envs.tools.bfcl_api import API_CLASSES, PRECISION_BOUNDS, Session, api_module
from sandgym.envs.tools.bfcl_data import BFCLTask
from sandgym.envs.tools.calls import ToolCall, format_call

BFCL = "sandgym/BFCLMultiTurn-v0"


def _math_session() -> Session:
    return Session(BFCLTask(id="t", category="base", turns=("q",), initial_config={},
                            involved_classes=("MathAPI",), excluded_functions=(), gold=((),)))


@pytest.fixture(scope="module")
def bfcl():
    ensure_registered()
    env = gym.make(BFCL, max_steps_per_turn=50)
    yield env.unwrapped
    env.close()


def _first_task(env, cls: str) -> str:
    return next(t.id for t in env.tasks if cls in t.involved_classes)


@pytest.mark.parametrize("name,args", [
    ("logarithm", {"value": 980.0, "base": 20.0}),
    ("square_root", {"number": 2.0}),
])
@pytest.mark.parametrize("precision", [10**9, 10**7, 1001, 0, -5])
def test_a_precision_bomb_is_bad_arguments_at_once(name, args, precision):
    started = time.perf_counter()
    result = _math_session().run(ToolCall(name, {**args, "precision": precision}))
    assert getattr(result, "kind", None) == "bad_arguments"
    assert "precision" in result.message
    assert time.perf_counter() - started < 1.0


def test_precisions_inside_the_bounds_still_run_as_bfcl_computes_them():
    session = _math_session()
    assert PRECISION_BOUNDS["logarithm"]["precision"] == (1, 1000)
    assert session.run(ToolCall("logarithm", {"value": 980.0, "base": 20.0, "precision": 10})
                       ) == "{'result': mpf('2.299121531134')}"
    assert session.run(ToolCall("square_root", {"number": 2.0, "precision": 3})
                       ) == "{'result': Decimal('1.41')}"
    assert session.run(ToolCall("logarithm", {"value": 2.0, "base": 3.0, "precision": 1000})
                       ).startswith("{'result': mpf('0.63092975357145743")


def test_a_call_does_not_leak_decimal_or_mpmath_precision_into_the_process():
    import mpmath

    prec, dps = decimal.getcontext().prec, mpmath.mp.dps
    session = _math_session()
    session.run(ToolCall("square_root", {"number": 2.0, "precision": 3}))
    session.run(ToolCall("logarithm", {"value": 2.0, "base": 3.0, "precision": 700}))
    assert decimal.getcontext().prec == prec and mpmath.mp.dps == dps
    assert str(decimal.Decimal(1) / decimal.Decimal(3)).startswith("0.3333333333")


def test_a_precision_bomb_through_the_env_is_a_typed_error_observation(bfcl):
    bfcl.reset(options={"task_id": _first_task(bfcl, "MathAPI")})
    reply = format_call(ToolCall("logarithm", {"value": 10.0, "base": 3.0,
                                               "precision": 10**9}))
    observation, _, terminated, _, _ = bfcl.step(reply)
    line = json.loads(observation.splitlines()[0])
    assert line["error"]["type"] == "bad_arguments" and not terminated


def test_file_system_calls_naming_host_paths_stay_in_memory(bfcl, tmp_path):
    bfcl.reset(options={"task_id": _first_task(bfcl, "GorillaFileSystem")})
    canary = tmp_path / "canary"
    calls = [("touch", {"file_name": str(canary)}), ("mkdir", {"dir_name": str(canary)}),
             ("echo", {"content": "pwned", "file_name": str(tmp_path / "x.txt")}),
             ("cd", {"folder": str(tmp_path)}), ("cd", {"folder": "../../../../.."}),
             ("touch", {"file_name": "../../etc/passwd"}), ("cat", {"file_name": "/etc/passwd"}),
             ("cat", {"file_name": "../../etc/passwd"}), ("find", {"path": "/", "name": "passwd"}),
             ("mv", {"source": "/etc/passwd", "destination": str(canary)}),
             ("rm", {"file_name": "/etc/hostname"}), ("touch", {"file_name": "x" * 100_000})]
    for name, args in calls:
        observation, *_ = bfcl.step(format_call(ToolCall(name, args)))
        assert "root:" not in observation  # the host's /etc/passwd is never read
    assert list(tmp_path.iterdir()) == []
    assert Path("/etc/passwd").exists() and not Path("etc").exists()


def test_no_bfcl_class_module_calls_into_the_host():
    """``gorilla_file_system`` imports ``subprocess`` but never uses it; nothing calls the
    process, file or network APIs (a new wheel that does fails here)."""
    host = {"subprocess", "os", "shutil", "socket", "pathlib", "requests", "urllib", "ctypes"}
    risky = {"open", "eval", "exec", "compile", "__import__"}
    for cls, (module, _) in API_CLASSES.items():
        path = api_module(cls).__file__
        tree = ast.parse(Path(path).read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            assert not (isinstance(func, ast.Name) and func.id in risky), (module, node.lineno)
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                assert func.value.id not in host, (module, node.lineno, func.attr)
