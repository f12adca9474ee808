"""The env contract holds in the source: nothing outside a family decides what an env
is from its class, and no package reaches into another's private names.

Scanned with `ast`, so the rule is checked for every file, not only the ones tests
happen to import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sandgym.envs.registration import BUILTIN_FAMILY_MODULES

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for d in ("sandgym", "tests", "benchmarks", "examples")
                 for p in (ROOT / d).rglob("*.py"))
FAMILY_DIRS = [ROOT / Path(*m.split(".")[:-1]) for m in BUILTIN_FAMILY_MODULES]


def _package_of(path: Path) -> Path:
    """A module's package; a test's is the package it mirrors (tests/X tests sandgym/X,
    white-box: it may use that package's private names, and no other's)."""
    tests = ROOT / "tests"
    if tests in path.parents:
        return ROOT / "sandgym" / path.parent.relative_to(tests)
    return path.parent


def _module_path(module: str) -> Path | None:
    base = ROOT / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _family_classes() -> dict[str, Path]:
    """Class name -> family directory, for every class defined in a family package."""
    classes = {}
    for family in FAMILY_DIRS:
        for path in family.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ClassDef):
                    classes[node.name] = family
    return classes


def _names(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Tuple):
        return [n for elt in node.elts for n in _names(elt)]
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        return [node.attr]
    return []


def family_isinstance_violations() -> list[str]:
    """``isinstance``/``issubclass`` on a family class, outside that family's package."""
    classes = _family_classes()
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("isinstance", "issubclass") and len(node.args) == 2):
                for name in _names(node.args[1]):
                    family = classes.get(name)
                    if family is not None and family not in path.parents:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} "
                                     f"{node.func.id}(..., {name})")
    return found


def private_import_violations() -> list[str]:
    """``from pkg.mod import _name`` where ``pkg.mod`` lives in another package."""
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                continue
            target = _module_path(node.module)
            if target is None:
                continue
            for alias in node.names:
                if (alias.name.startswith("_") and not alias.name.startswith("__")
                        and _package_of(target) != _package_of(path)):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} "
                                 f"from {node.module} import {alias.name}")
    return found


def test_no_isinstance_on_a_family_class_outside_its_family():
    assert FAMILY_DIRS and _family_classes()
    assert family_isinstance_violations() == []


def test_no_private_name_is_imported_across_packages():
    assert private_import_violations() == []


@pytest.mark.parametrize("source, expected", [
    ("from sandgym.envs.code import PythonTestsEnv\nisinstance(e, (int, PythonTestsEnv))",
     "isinstance(..., PythonTestsEnv)"),
    ("import sandgym.envs.code as c\nissubclass(k, c.ShellEnv)", "issubclass(..., ShellEnv)"),
])
def test_the_scan_finds_isinstance_on_family_classes(source, expected):
    probe = ROOT / "sandgym" / "train" / "_probe_layering.py"
    globals()["SOURCES"], saved = [probe], SOURCES
    probe.write_text(source)
    try:
        assert [v.split(" ", 1)[1] for v in family_isinstance_violations()] == [expected]
    finally:
        probe.unlink()
        globals()["SOURCES"] = saved


def test_the_scan_finds_private_imports_across_packages():
    probe = ROOT / "sandgym" / "train" / "_probe_private.py"
    saved = globals()["SOURCES"]
    globals()["SOURCES"] = [probe]
    probe.write_text("from sandgym.rollouts.config import SANDBOX_RESOURCE\n"
                     "from sandgym.envs.base import _private\n"
                     "from sandgym.train.grpo import _same_package\n")
    try:
        assert [v.split(" ", 1)[1] for v in private_import_violations()] == [
            "from sandgym.envs.base import _private"]
    finally:
        probe.unlink()
        globals()["SOURCES"] = saved
