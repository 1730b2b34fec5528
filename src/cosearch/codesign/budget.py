"""The area budget of a co-design study, given as a number of mm² or as a preset design."""

from __future__ import annotations

import math
from typing import Any

from ..errors import CosearchError


def eyeriss168_area(space: Any) -> float:
    """Area (mm²) of eyeriss-168 built on the eyeriss template under ``space``'s estimator and DRAM
    bandwidth: what :attr:`Codesign.baseline_area` is for an eyeriss space."""
    from ..arch.templates import get_template
    from ..arch.templates.eyeriss import EYERISS_168

    return float(get_template("eyeriss").build(EYERISS_168, **space.build_options()).area_mm2)


def reference_area(space: Any) -> float:
    """Area (mm²) of the reference design of ``space``'s template, built on that template under the
    space's estimator and DRAM bandwidth (what :attr:`Codesign.baseline_area` is)."""
    template = space.template_spec
    return float(template.build(dict(template.reference.values), **space.build_options()).area_mm2)


def parse_area_budget(text: str | None, space: Any) -> float:
    """``--area-budget`` (mm²): a positive number of mm², or a preset whose area (under ``space``'s
    estimator) is the budget; ``None`` means the area of the space's reference design if its template
    says so (``Reference.sets_budget``: eyeriss-168 for ``eyeriss``, eyeriss-256 for
    ``timeloop-eyeriss``), else eyeriss-168's."""
    from ..arch.io import PRESETS

    if text is None and space.template_spec.reference.sets_budget:
        return reference_area(space)
    value = "eyeriss-168" if text is None else text.strip()
    try:
        number: float | None = float(value)
    except ValueError:
        number = None
    if number is not None:
        if not (math.isfinite(number) and number > 0):
            raise CosearchError(f"--area-budget must be a positive number of mm² or a preset, got {text}")
        return number
    if value == "eyeriss-168":
        return eyeriss168_area(space)
    if value in PRESETS:
        from ..arch.estimator import apply_estimator
        from ..arch.io import load_arch

        return float(apply_estimator(load_arch(value), space.estimator).area_mm2)
    raise CosearchError(f"--area-budget: {text!r} is neither a number of mm² nor a preset "
                        f"({', '.join(PRESETS)})")
