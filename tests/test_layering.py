"""The static checks of ``.ci/run`` can fail: the import-layering contracts (import-linter) hold on the
package and break on a copy with one injected import; ruff flags an injected unused import.

Both tools read their settings from the project's ``pyproject.toml``; the copies live in ``tmp_path``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

PYPROJECT = REPO / "pyproject.toml"
PACKAGE = REPO / "src" / "cosearch"

LINT_IMPORTS = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint_imports(src: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``lint-imports`` with the project's contracts on the ``cosearch`` package found in ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [sys.executable, "-c", LINT_IMPORTS, "--config", str(PYPROJECT), "--no-cache", "--no-logo"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )


def copy_package(tmp_path: Path) -> Path:
    """A copy of ``src/cosearch`` under ``tmp_path/src``; returns that ``src`` folder."""
    src = tmp_path / "src"
    shutil.copytree(PACKAGE, src / "cosearch", ignore=shutil.ignore_patterns("__pycache__"))
    return src


def test_contracts_hold_on_the_package(tmp_path):
    result = lint_imports(REPO / "src", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def append_function_import(path: Path, statement: str) -> None:
    """Append a function whose body is ``statement``: a lazy import, which the contracts count too."""
    path.write_text(path.read_text() + f"\n\ndef _injected():\n    {statement}\n")


@pytest.mark.parametrize(
    ("module", "statement", "broken"),
    [
        ("model/evaluate.py", "from cosearch.cli import app",
         "cosearch.model is not allowed to import cosearch.cli"),
        ("mapping/space/__init__.py", "from ...model.evaluate import evaluate",
         "cosearch.mapping is not allowed to import cosearch.model"),
        ("arch/spec.py", "from cosearch.workload.layer import Layer",  # independent siblings
         "cosearch.arch is not allowed to import cosearch.workload"),
        ("codesign/driver.py", "from cosearch.interop import timeloop",
         "cosearch.codesign is not allowed to import cosearch.interop"),
        ("interop/timeloop/read.py", "from cosearch.mappers.layer import map_layer",
         "cosearch.interop is not allowed to import cosearch.mappers"),
        ("study/models.py", "from cosearch.arch.spec import Arch",
         "cosearch.study is not allowed to import cosearch.arch"),
        ("_gp/pareto.py", "from cosearch.model.evaluate import evaluate",
         "cosearch._gp is not allowed to import cosearch.model"),
    ],
)
def test_an_injected_import_breaks_a_contract(tmp_path, module, statement, broken):
    src = copy_package(tmp_path)
    append_function_import(src / "cosearch" / module, statement)
    result = lint_imports(src, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert broken in result.stdout, result.stdout


def test_an_undeclared_subpackage_breaks_the_layers(tmp_path):
    src = copy_package(tmp_path)
    (src / "cosearch" / "extras").mkdir()
    (src / "cosearch" / "extras" / "__init__.py").write_text('"""A top-level package no contract places."""\n')
    result = lint_imports(src, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "cosearch.extras" in result.stdout, result.stdout


def ruff_check(path: Path) -> subprocess.CompletedProcess[str]:
    """``ruff check`` of one file with the project's rule set."""
    return subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--config", str(PYPROJECT), str(path)],
        capture_output=True, text=True, timeout=120,
    )


CLEAN_MODULE = '''"""A module every selected rule accepts."""

from __future__ import annotations

import math


def circle_area(radius: float) -> float:
    """Area of a circle of ``radius`` (any unit; the result is in its square)."""
    return math.pi * radius**2
'''


@pytest.mark.parametrize(
    ("injected", "rule"),
    [
        ("import os\n", "F401"),  # unused import
        ("def _f():\n    unused = 1\n", "F841"),  # unused local variable
        ("def _g():\n    return undefined_name\n", "F821"),  # undefined name
    ],
)
def test_ruff_flags_an_injected_violation(tmp_path, injected, rule):
    module = tmp_path / "module.py"
    module.write_text(CLEAN_MODULE)
    clean = ruff_check(module)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    module.write_text(CLEAN_MODULE + "\n\n" + injected)
    dirty = ruff_check(module)
    assert dirty.returncode == 1, dirty.stdout + dirty.stderr
    assert rule in dirty.stdout, dirty.stdout
