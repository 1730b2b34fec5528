"""The files a co-design run writes, from the library (``Codesign.run(out_dir)``), as the CLI leaves them."""

from __future__ import annotations

import json
from pathlib import Path

from cosearch._io import to_plain
from cosearch.arch.hwspace import load_hw_space
from cosearch.arch.io import load_arch
from cosearch.codesign.driver import Codesign
from cosearch.codesign.outputs import BEST_ARCH_FILE, RESULTS_FILE
from cosearch.mapping.mapping import Mapping
from cosearch.workload.io import load_workload


def _small(tmp_path: Path, **kw) -> Codesign:
    return Codesign([load_workload("dqn")], hw_space=load_hw_space("eyeriss-like"), optimizer="random",
                    hw_budget=4, hw_batch=2, mapper_budget=200, seed=0, storage="sqlite://", study="outs", **kw)


def test_run_with_out_dir_writes_results_arch_and_mappings(tmp_path: Path) -> None:
    seen: list[int] = []
    cd = _small(tmp_path, on_trial=lambda info: seen.append(info["number"]))
    res = cd.run(out_dir=tmp_path / "run")
    out = tmp_path / "run"
    results = json.loads((out / RESULTS_FILE).read_text())
    assert results["status"] == "complete"
    assert results["trials"] == res.trials == 4 and len(results["history"]) == 4
    assert results["best"]["trial"] == res.best.trial and results["edp_ratio"] == res.edp_ratio
    assert results == to_plain({"status": "complete", **cd.output.document(res), "config": cd.config,
                                "history": res.history})
    assert sorted(seen) == [0, 1, 2, 3]  # the caller's on_trial still sees every trial
    assert cd.on_trial is not None and cd.on_trial.__name__ == "<lambda>"  # and is restored after the run
    arch = load_arch(out / BEST_ARCH_FILE)
    assert arch.area_mm2 == res.best.area_mm2
    files = results["files"]["mappings"]
    assert set(files) == {f"dqn/{layer.name}" for layer in load_workload("dqn").layers}
    for rel in files.values():
        Mapping.model_validate_json((out / rel).read_text())


def test_run_without_out_dir_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    cd = _small(tmp_path)
    cd.run()
    assert cd.output is None and list(tmp_path.iterdir()) == []
