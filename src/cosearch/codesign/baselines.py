"""The baselines a co-design study is compared with: its template's reference design, mapped twice.

The first baseline is the reference design (:class:`~cosearch.arch.templates.Reference`) mapped by the
study's mapper (labelled ``auto``); the second is the same design mapped under the template's named
dataflow (row-stationary for eyeriss, labelled ``RS``), or, for a template without one, the first
again (labelled ``same``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..arch.templates import Template, get_template


@dataclass(frozen=True)
class Baseline:
    """A template's baseline: its reference design and the mappings it is compared under.

    ``label``: the design (``"eyeriss-168"``); ``values``: its parameter values (template order).
    ``dataflows``: the named dataflow of each distinct baseline mapping, ``None`` for the study's mapper
    unconstrained: ``(None,)`` or ``(None, dataflow)``. ``auto_label`` / ``dataflow_label``: how tables
    name the first and the second baseline mapping (``"eyeriss-168 (auto)"``, ``"eyeriss-168 (RS)"``).
    """

    label: str
    values: dict[str, Any]
    dataflows: tuple[str | None, ...]
    auto_label: str
    dataflow_label: str

    @property
    def dataflow(self) -> str | None:
        """The second baseline's named dataflow (``None``: it is the first)."""
        return self.dataflows[-1]


def baseline_of(template: str | Template) -> Baseline:
    """The :class:`Baseline` of a template (or of a registered template's name); ``values`` is a fresh
    dict on every call."""
    ref = (template if isinstance(template, Template) else get_template(template)).reference
    return Baseline(label=ref.label, values=dict(ref.values),
                    dataflows=(None,) if ref.dataflow is None else (None, ref.dataflow),
                    auto_label=f"{ref.label} (auto)", dataflow_label=f"{ref.label} ({ref.dataflow_tag})")
