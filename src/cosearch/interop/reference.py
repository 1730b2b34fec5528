"""Check the cost model against Timeloop reference records (the schema of ``shared/reference``).

Each record holds an arch, a layer, a mapping and Timeloop's results; :func:`validate_records`
evaluates every record with :func:`cosearch.evaluate` and compares energy, cycles and every
per-level read / fill / update / tile count.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from pydantic import ValidationError

from ..arch.io import arch_from_reference
from ..dims import DATASPACES
from ..errors import CosearchError
from ..mapping.mapping import Mappings, mapping_from_data
from ..model.evaluate import evaluate
from ..workload.layer import Layer

COUNT_KEYS = ("reads", "fills", "updates", "tile_words", "utilized_instances")


def timeloop_reason_class(text: str) -> str:
    """Map a Timeloop error line onto cosearch's reason classes (``capacity:<level>``, ``fanout_x``,
    ``fanout_y``, ``fanout_total``, ``factorization``; ``unknown`` otherwise)."""
    if "product of all factors" in text:
        return "factorization"
    if "X expansion" in text:
        return "fanout_x"
    if "Y expansion" in text:
        return "fanout_y"
    if "Arithmetic instances" in text:
        return "fanout_total"
    m = re.search(r"couldn't map level (\S+): mapped tile size", text)
    if m:
        return f"capacity:{m.group(1)}"
    return "unknown"


@dataclass
class CaseResult:
    """Outcome of one reference record."""

    id: str
    expected_valid: bool
    valid: bool
    reason: str = ""
    expected_reason: str = ""
    skipped: bool = False  # uses link transfers, which cosearch does not model
    energy_pj: float | None = None
    expected_energy_pj: float | None = None
    cycles: float | None = None
    expected_cycles: float | None = None
    mismatches: list[str] = field(default_factory=list)

    @property
    def energy_rel_err(self) -> float:
        if self.energy_pj is None or not self.expected_energy_pj:
            return float("inf")
        return abs(self.energy_pj - self.expected_energy_pj) / self.expected_energy_pj

    @property
    def cycles_rel_err(self) -> float:
        if self.cycles is None or not self.expected_cycles:
            return float("inf")
        return abs(self.cycles - self.expected_cycles) / self.expected_cycles

    @property
    def agrees(self) -> bool:
        """Invalid cases: rejected with the same reason class. Valid: every count exact."""
        if not self.expected_valid:
            return not self.valid and self.reason == self.expected_reason
        return self.valid and not self.mismatches


def load_records(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSON-lines file of reference records; unreadable files raise :class:`CosearchError`."""
    p = Path(path)
    if not p.exists():
        raise CosearchError(f"{p}: file not found")
    try:
        lines = p.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CosearchError(f"{p}: cannot read ({exc})") from None
    records = []
    for no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CosearchError(f"{p}: line {no}: malformed JSON ({exc.msg})") from None
        if not isinstance(rec, dict) or not {"arch", "layer", "mapping", "expected"} <= rec.keys():
            raise CosearchError(f"{p}: line {no}: not a reference record (needs arch, layer, mapping, expected)")
        records.append(rec)
    if not records:
        raise CosearchError(f"{p}: no records")
    return records


def check_record(rec: dict[str, Any]) -> CaseResult:
    """Evaluate one record and compare with its ``expected`` block."""
    case_id = str(rec.get("id", "?"))
    for key in ("arch", "layer", "mapping", "expected"):
        if not isinstance(rec.get(key), dict):
            raise CosearchError(f"record {case_id}: {key} must be an object, got {type(rec.get(key)).__name__}")
    exp = rec["expected"]
    arch = arch_from_reference(rec["arch"], f"record {case_id}: arch")
    layer_fields = {k: v for k, v in rec["layer"].items() if k in Layer.model_fields}
    layer = Layer(**layer_fields)
    mapping = mapping_from_data(rec["mapping"], case_id)
    costs = evaluate(arch, layer, Mappings.from_list([mapping], arch, source=case_id), breakdown=True)
    valid = bool(costs.valid[0])
    res = CaseResult(
        id=case_id,
        expected_valid=bool(exp.get("valid")),
        valid=valid,
        reason=costs.reason_text(0),
    )
    if not res.expected_valid:
        res.expected_reason = timeloop_reason_class(str(exp.get("reason", "")))
        return res
    where = f"record {case_id}: expected"
    res.expected_energy_pj = _number(exp.get("energy_pJ"), f"{where}.energy_pJ")
    res.expected_cycles = _number(exp.get("cycles"), f"{where}.cycles")
    if exp.get("link_transfers_total", 0):
        res.skipped = True
    if not valid:
        res.mismatches.append(f"called invalid ({res.reason})")
        return res
    res.energy_pj = float(costs.energy_pj[0])
    res.cycles = float(costs.cycles[0])
    if res.cycles != res.expected_cycles:
        res.mismatches.append(f"cycles {res.cycles:.0f} vs {res.expected_cycles:.0f}")
    per_level = _object(exp.get("per_level", {}), f"{where}.per_level")
    for li, lvl in enumerate(arch.levels):
        level = _object(per_level.get(lvl.name, {}), f"{where}.per_level.{lvl.name}")
        per_ds = _object(level.get("dataspaces", {}), f"{where}.per_level.{lvl.name}.dataspaces")
        for di, ds in enumerate(DATASPACES):
            if ds not in per_ds:
                if costs.keep[0, li, di]:
                    res.mismatches.append(f"{lvl.name}.{ds}: kept here, Timeloop bypasses")
                continue
            want = _object(per_ds[ds], f"{where}.per_level.{lvl.name}.dataspaces.{ds}")
            got = {
                "reads": costs.reads[0, li, di],
                "fills": costs.fills[0, li, di],
                "updates": costs.updates[0, li, di],
                "tile_words": costs.tile_words[0, li, di],
                "utilized_instances": costs.utilized_instances[0, li],
            }
            for key in COUNT_KEYS:
                if key in want:
                    _number(want[key], f"{where}.per_level.{lvl.name}.dataspaces.{ds}.{key}")
                if key in want and int(got[key]) != int(want[key]):
                    res.mismatches.append(f"{lvl.name}.{ds}.{key} {int(got[key])} vs {int(want[key])}")
    return res


def _object(value: Any, where: str) -> dict[str, Any]:
    """``value`` if it is a JSON object, else :class:`CosearchError` naming ``where``."""
    if not isinstance(value, dict):
        raise CosearchError(f"{where} must be an object, got {type(value).__name__}")
    return value


def _number(value: Any, where: str) -> float:
    """``value`` as a float if it is a finite JSON number, else :class:`CosearchError` naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CosearchError(f"{where} must be a finite number, got {str(value)[:40]!r}")
    return float(value)


def summarize(results: Iterable[CaseResult]) -> dict[str, Any]:
    """Summary figures over case results (fractions are of the cases they concern)."""
    results = list(results)
    scored = [r for r in results if r.expected_valid and not r.skipped]
    invalid = [r for r in results if not r.expected_valid]

    def frac(num: int, den: int) -> float:
        return num / den if den else 1.0

    e_errs = [r.energy_rel_err for r in scored]
    c_errs = [r.cycles_rel_err for r in scored]
    return {
        "cases": len(results),
        "valid_cases": len(scored),
        "energy_within_1pct": frac(sum(e <= 0.01 for e in e_errs), len(scored)),
        "cycles_within_1pct": frac(sum(e <= 0.01 for e in c_errs), len(scored)),
        "counts_exact": frac(sum(r.agrees for r in scored), len(scored)),
        "max_energy_rel_err": max(e_errs, default=0.0),
        "max_cycles_rel_err": max(c_errs, default=0.0),
        "invalid_cases": len(invalid),
        "invalid_agreement": frac(sum(r.agrees for r in invalid), len(invalid)),
        "skipped_link_transfer": sum(r.expected_valid and r.skipped for r in results),
    }


def validate_records(path: str | Path) -> tuple[list[CaseResult], dict[str, Any]]:
    """Check every record of a JSON-lines file; returns per-case results and the summary."""
    results = []
    for rec in load_records(path):
        try:
            results.append(check_record(rec))
        except (CosearchError, ValidationError, KeyError, TypeError, ValueError) as err:
            exp = rec.get("expected")
            expected_valid = bool(exp.get("valid")) if isinstance(exp, dict) else False
            results.append(
                CaseResult(id=str(rec.get("id", "?")), expected_valid=expected_valid, valid=False,
                           reason="unreadable", mismatches=[" ".join(str(err).split())[:200]])
            )
    return results, summarize(results)
