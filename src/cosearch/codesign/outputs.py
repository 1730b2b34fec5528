"""The files a co-design run leaves in its output directory, kept current as trials finish.

* ``results.json``: the run's status (``running``, ``interrupted``, ``failed``, ``complete``), the best
  design so far, both baselines, their EDP ratios, the trial count and the study's configuration;
  rewritten after every trial, and with the trial history when the run completes.
* ``best-arch.yaml``: the best design as an arch file (``cosearch eval --arch``), rewritten whenever the
  best design improves.
* ``mappings/<workload>/<layer>.json``: that design's mapping of every layer of every workload (layers of
  equal shape share one mapping).

:meth:`Codesign.run <cosearch.codesign.driver.Codesign.run>` writes them when given an output directory,
so a Python user gets the files the CLI leaves.
"""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._io import RESULTS_FILE, to_plain, write_atomic
from .objectives import geomean_edp_ratio
from .records import DesignSummary

if TYPE_CHECKING:
    from .driver import Codesign, CodesignResult

BEST_ARCH_FILE = "best-arch.yaml"
STUDIES_FILE = "studies.db"
"""The SQLite study store a run keeps in its output directory (``--out``) when no ``--storage`` is given."""


def safe_file_name(text: str) -> str:
    """``text`` as one file-name component: runs of characters other than letters, digits and ``._+-``
    become ``_``, leading/trailing ``.``/``_`` are dropped, ``x`` if nothing is left."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", str(text)).strip("._") or "x"


def default_run_dir(study: str) -> Path:
    """Where ``cosearch codesign`` writes a study's run without ``--out``: ``cosearch-out/codesign-<study>``
    (the study's name as a file name, the prefix not doubled)."""
    name = safe_file_name(study)
    return Path("cosearch-out") / (name if name.startswith("codesign-") else f"codesign-{name}")


class RunDirectory:
    """The output directory of one co-design run (``out_dir``) of the study ``codesign`` drives.

    Call :meth:`load_existing` first (a resumed study's best design), :meth:`on_trial` for every finished
    trial, :meth:`write` for a status change and :meth:`complete` with the finished run's result.
    """

    def __init__(self, codesign: Codesign, out_dir: Path) -> None:
        self.codesign = codesign
        self.out = Path(out_dir)
        self.started = time.perf_counter()
        self.best: DesignSummary | None = None  # the best trial's summary
        self.best_value = math.inf  # its objective value
        self.files: dict[str, Any] = {}  # {"arch": file, "mappings": {"<workload>/<layer>": file}}
        self.done = codesign.storage.count_trials(codesign.study_name)["complete"]  # trials finished
        self.shape_key = {layer.shape_key(): key for key, layer in codesign.layers}

    # -- best so far -------------------------------------------------------------------------------
    def load_existing(self) -> None:
        """Best of a resumed study's complete trials (its files are written again)."""
        trial = self.codesign.storage.best_trial(self.codesign.study_name)
        if trial is not None:
            self._set_best(trial)

    def _set_best(self, trial: Any) -> None:
        cd = self.codesign
        results = {lr.layer: dict(lr.__dict__) for lr in trial.layers}
        cost = cd.network_cost(results, trial.hw_params["values"])
        summary = cd._summary(trial.hw_params["values"], cost, trial.result["area_mm2"]).with_trial(trial.number)
        self.best, self.best_value = summary, float(trial.value)
        self.write_best_files(summary)

    def write_best_files(self, best: DesignSummary) -> None:
        """``best-arch.yaml`` (loadable by ``cosearch eval --arch``) and ``mappings/<workload>/<layer>.json``
        for every layer of every workload (layers of equal shape share a mapping)."""
        import yaml

        from ..mapping.mapping import Mapping

        cd = self.codesign
        arch = cd.space.arch(dict(best.arch))
        first_net = cd.workloads[0]
        first = first_net.layers[0]
        header = (
            f"# Best design of co-design study {cd.study_name} (trial {best.trial}): "
            f"{cd.space.template} template, estimator {cd.space.estimator}\n"
            f"# area {best.area_mm2:.4f} mm², energy {best.energy_pj:.6g} pJ, cycles {best.cycles:.6g}, "
            f"EDP {best.edp:.6g}\n"
            f"# cosearch eval --arch {BEST_ARCH_FILE} --workload {first_net.name} --layer {first.name} "
            f"--mapping mappings/{safe_file_name(first_net.name)}/{safe_file_name(first.name)}.json\n"
        )
        body = yaml.safe_dump(arch.model_dump(mode="json", exclude_none=True), sort_keys=False)
        write_atomic(self.out / BEST_ARCH_FILE, header + body)
        mappings: dict[str, str] = {}
        for net in cd.workloads:
            for layer in net.layers:
                rec = best.layers.get(self.shape_key.get(layer.shape_key(), ""))
                if rec is None or not rec.mapping:
                    continue
                rel = f"mappings/{safe_file_name(net.name)}/{safe_file_name(layer.name)}.json"
                text = Mapping.model_validate(rec.mapping).model_dump_json(indent=1, exclude_none=True)
                write_atomic(self.out / rel, text + "\n")
                mappings[f"{net.name}/{layer.name}"] = rel
        self.files = {"arch": BEST_ARCH_FILE, "mappings": mappings}

    # -- per trial ---------------------------------------------------------------------------------
    def on_trial(self, info: dict[str, Any]) -> None:
        """A trial finished (``info`` as passed to ``Codesign.on_trial``): new best files if it is the
        best so far, and ``results.json`` again."""
        self.done += 1
        value = info.get("value")
        if info.get("valid") and value is not None and float(value) < self.best_value:
            self._set_best(self.codesign.storage.trial(self.codesign.study_name, info["number"], layers=True))
        self.write("running")

    def _baselines(self) -> tuple[DesignSummary | None, DesignSummary | None]:
        """The two baseline summaries once the driver has mapped them, else ``(None, None)``."""
        return self.codesign.baseline_summaries or (None, None)

    def partial(self) -> dict[str, Any]:
        """The run so far, as ``results.json`` holds it before the run completes."""
        base, base_rs = self._baselines()
        cd = self.codesign
        return {"study": cd.study_name, "storage": cd.storage.url, "out": str(self.out),
                "best": self.best, "baseline": base, "baseline_rs": base_rs,
                "edp_ratio": geomean_edp_ratio(self.best, base), "edp_ratio_rs": geomean_edp_ratio(self.best, base_rs),
                "trials": self.done, "seconds": round(time.perf_counter() - self.started, 3), "files": self.files}

    def write(self, status: str, data: dict[str, Any] | None = None, history: list[Any] | None = None) -> None:
        """``results.json`` with ``status`` and ``data`` (default: :meth:`partial`), the study's
        configuration and, if given, the trial history."""
        doc = {"status": status, **(data if data is not None else self.partial()), "config": self.codesign.config}
        if history is not None:
            doc["history"] = history
        write_atomic(self.out / RESULTS_FILE, json.dumps(to_plain(doc), indent=1) + "\n")

    def complete(self, res: CodesignResult) -> None:
        """The finished run: the best design's files if the result's best is not the last one written,
        and ``results.json`` with status ``complete``, :meth:`document` and the trial history."""
        if res.best is not None and (self.best is None or self.best.trial != res.best.trial):
            self.best = res.best
            self.write_best_files(res.best)
        self.write("complete", self.document(res), res.history)

    def document(self, res: CodesignResult) -> dict[str, Any]:
        """The finished run as ``results.json`` holds it (without status, configuration and history):
        the CLI's ``--json`` document."""
        return {"study": res.study, "storage": self.codesign.storage.url, "out": str(self.out), "best": res.best,
                "baseline": res.baseline, "baseline_rs": res.baseline_rs, "edp_ratio": res.edp_ratio,
                "edp_ratio_rs": res.edp_ratio_rs, "edp_ratio_bound": res.edp_ratio_bound, "bound": res.bound,
                "pareto_front": res.pareto_front, "trials": res.trials, "seconds": round(res.seconds, 3),
                "files": self.files if res.best is not None else {}}
