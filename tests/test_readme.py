"""The README's Python examples run as written (with smaller budgets) and write the files it promises."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import REPO

SMALLER = {"budget=20_000": "budget=300", "jobs=4": "jobs=1", "hw_budget=24": "hw_budget=3",
           "mapper_budget=2_000": "mapper_budget=150", "LocalExecutor(2)": "LocalExecutor(1)",
           "sample(10_000": "sample(500"}


def readme_python() -> str:
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Python API"):text.index("## Validation status")]
    code = "\n".join(re.findall(r"```python\n(.*?)```", section, re.S))
    for big, small in SMALLER.items():
        assert big in code, f"README example changed: {big!r} not found (update SMALLER)"
        code = code.replace(big, small)
    return code


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_readme_python_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    scope: dict = {"__name__": "readme"}
    exec(compile(readme_python(), "README.md", "exec"), scope)  # noqa: S102 - the README's own code
    for name in ["results.json", "best-arch.yaml", "mappings", "report/report.html"]:
        assert (tmp_path / "out" / "dqn-bo" / name).exists(), name
    assert (tmp_path / "out" / "resnet18" / "results.json").exists()
    assert scope["res"].edp_ratio is not None and scope["res"].edp_ratio > 0
