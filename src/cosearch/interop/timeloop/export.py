"""Timeloop export: an :class:`~cosearch.arch.spec.Arch`, a :class:`~cosearch.workload.layer.Layer`
and a :class:`~cosearch.mapping.mapping.Mapping` as the four YAML inputs of ``timeloop-model``
(``arch``, ``problem``, ``mapping``, ``ERT``), written exactly in the style of the
``shared/reference`` records' ``timeloop`` strings: a flat ``arch: {arithmetic, storage}`` list
innermost storage level first, a ``cnn-layer`` problem, a list-style mapping (temporal entries outer
-> inner, the fan-out level's spatial entry with its X/Y ``split``, then one ``datatype`` keep/bypass
entry per level; permutations in Timeloop's inner -> outer order) and a v0.3 energy reference table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..._io import write_atomic
from ...arch.spec import Arch
from ...dims import DATASPACES, DIM_INDEX, REFERENCE_DIMS
from ...errors import CosearchError
from ...mapping.mapping import Mapping, Mappings
from ...model.validity import require_valid
from ...workload.layer import Layer
from ._format import LAYER_PARAMS, NO_LINK_TRANSFER, STORAGE_ACTIONS, SYSTEM

TIMELOOP_FILES = ("arch", "problem", "mapping", "ERT")
"""The inputs of ``timeloop-model``, in the order of its command line (keys of :func:`to_timeloop`)."""


def _num(value: float | int) -> str:
    """A number as the records write it: integral values without a decimal point."""
    f = float(value)
    if f.is_integer():
        return str(int(f))
    return repr(f)


def _flow(items: Iterable[str]) -> str:
    return "[" + ", ".join(items) + "]"


def _width_comment(lvl: Any) -> list[str]:
    """A comment line with the per-data-space word widths when they differ from the access width:
    Timeloop's flat arch has one word size per level, its ``word-bits`` is the access width."""
    widths = {ds: lvl.bits(ds) for ds in lvl.keeps}
    if all(b == lvl.access_width for b in widths.values()):
        return []
    text = ", ".join(f"{ds} {b}" for ds, b in widths.items())
    return [f"    # cosearch word bits per data space: {text} (word-bits below is the access width)"]


def refuse_block_mac(arch: Arch) -> None:
    """Raise :class:`CosearchError` (one line) if ``arch`` has a block MAC: Timeloop's arithmetic is one
    scalar MAC per instance, so a block MAC's vector words and blocked dims have no Timeloop form."""
    if arch.mac.block:
        block = ", ".join(f"{d}: {b}" for d, b in arch.mac.block.items())
        raise CosearchError(f"arch {arch.name}: a block MAC (mac.block {{{block}}}) has no Timeloop form "
                            "(Timeloop's arithmetic is one scalar MAC per instance)")


def arch_yaml(arch: Arch) -> str:
    """The ``arch`` input: arithmetic, then storage innermost level first (a block MAC is refused:
    :func:`refuse_block_mac`)."""
    refuse_block_mac(arch)
    mac = arch.mac
    lines = ["arch:", "  arithmetic:", "    name: mac", f"    instances: {mac.instances}"]
    if mac.instances > 1:
        lines.append(f"    meshX: {mac.mesh_x}")
    if mac.number_format != "int":
        lines.append(f"    # cosearch MAC number format: {mac.number_format}")
    lines += [f"    word-bits: {mac.word_bits}", "  storage:"]
    for lvl in reversed(arch.levels):
        lines.append(f"  - name: {lvl.name}")
        lines.append(f"    technology: {lvl.technology}")
        if lvl.size_words is not None:
            lines.append(f"    entries: {lvl.size_words}")
        lines.append(f"    instances: {lvl.instances}")
        if lvl.instances > 1:
            lines.append(f"    meshX: {lvl.mesh_x}")
        lines += _width_comment(lvl)
        lines.append(f"    word-bits: {lvl.access_width}")
        lines.append("    block-size: 1")
        for key, value in (("read", lvl.bandwidth.read), ("write", lvl.bandwidth.write),
                           ("shared", lvl.bandwidth.shared)):
            if value is not None:
                lines.append(f"    {key}_bandwidth: {_num(value)}")
    return "\n".join(lines) + "\n"


def problem_yaml(layer: Layer) -> str:
    """The ``problem`` input (``cnn-layer``; grouped layers are not expressible in that shape)."""
    if layer.G != 1:
        raise CosearchError(f"layer {layer.name}: G={layer.G} groups cannot be written as a Timeloop cnn-layer "
                            "(export one group: G=1)")
    fields = [f"{d}: {getattr(layer, d)}" for d in REFERENCE_DIMS] + [f"{k}: {getattr(layer, k)}" for k in LAYER_PARAMS]
    return "problem:\n  shape: cnn-layer\n  instance: {" + ", ".join(fields) + "}\n"


def _factors(values: np.ndarray) -> str:
    return " ".join(f"{d}{int(values[DIM_INDEX[d]])}" for d in REFERENCE_DIMS)


def _ranked(order: np.ndarray, dims: Iterable[str]) -> list[str]:
    """``dims`` sorted outer -> inner by their ranks in ``order``."""
    return sorted(dims, key=lambda d: (int(order[DIM_INDEX[d]]), REFERENCE_DIMS.index(d)))


def _no_link_transfer(source: str) -> list[str]:
    if NO_LINK_TRANSFER not in source:
        return []
    rest = source.split(NO_LINK_TRANSFER, 1)[1]
    if rest.startswith("="):
        names = rest[1:].split(":", 1)[0].split(",")
        return [ds for ds in DATASPACES if ds in names]
    return list(DATASPACES)


def mapping_yaml(arch: Arch, mapping: Mapping | Mappings, *, no_link_transfer: Iterable[str] | bool | None = None,
                 source: str = "mapping") -> str:
    """The ``mapping`` input. ``no_link_transfer``: data spaces to list on the spatial entry (``True``: all;
    ``None``: as ``mapping.source`` says, see :data:`NO_LINK_TRANSFER`)."""
    if isinstance(mapping, Mapping):
        if no_link_transfer is None:
            no_link_transfer = _no_link_transfer(mapping.source)
        arrays = Mappings.from_list([mapping], arch, source=source)
    else:
        arrays = mapping
    if no_link_transfer is True:
        nlt = list(DATASPACES)
    else:
        nlt = [ds for ds in DATASPACES if ds in set(no_link_transfer or ())]
    G = DIM_INDEX["G"]
    if (arrays.temporal[0, :, G] != 1).any() or (arrays.spatial_x[0, :, G] != 1).any() \
            or (arrays.spatial_y[0, :, G] != 1).any():
        raise CosearchError(f"{source}: factors over G cannot be written as a Timeloop cnn-layer mapping")
    fan = arch.fanout_level
    ox = arrays.order_x[0, fan] if arrays.order_x is not None else np.arange(len(DIM_INDEX))
    oy = arrays.order_y[0, fan] if arrays.order_y is not None else np.arange(len(DIM_INDEX))
    lines = ["mapping:"]
    for li, lvl in enumerate(arch.levels):
        outer_to_inner = _ranked(arrays.order[0, li], REFERENCE_DIMS)
        lines += [f"- target: {lvl.name}", "  type: temporal", f"  factors: {_factors(arrays.temporal[0, li])}",
                  f"  permutation: {''.join(reversed(outer_to_inner))}"]
        if li == fan:
            sx, sy = arrays.spatial_x[0, li], arrays.spatial_y[0, li]
            both = [d for d in REFERENCE_DIMS if sx[DIM_INDEX[d]] > 1 and sy[DIM_INDEX[d]] > 1]
            if both:
                raise CosearchError(f"{source}: level {lvl.name} spreads {', '.join(both)} over both mesh axes; "
                                    "a Timeloop spatial entry puts each dimension on X or on Y")
            xs = list(reversed(_ranked(ox, [d for d in REFERENCE_DIMS if sx[DIM_INDEX[d]] > 1])))
            ys = list(reversed(_ranked(oy, [d for d in REFERENCE_DIMS if sy[DIM_INDEX[d]] > 1])))
            rest = [d for d in REFERENCE_DIMS if d not in xs and d not in ys]
            lines += [f"- target: {lvl.name}", "  type: spatial", f"  factors: {_factors(sx * sy)}",
                      f"  permutation: {''.join(xs + ys + rest)}", f"  split: {len(xs)}"]
            if nlt:
                lines.append(f"  no_link_transfer: {_flow(nlt)}")
    for li, lvl in enumerate(arch.levels):
        keep = [ds for di, ds in enumerate(DATASPACES) if arrays.keep[0, li, di]]
        bypass = [ds for ds in DATASPACES if ds not in keep]
        lines += [f"- target: {lvl.name}", "  type: datatype", f"  keep: {_flow(keep)}", f"  bypass: {_flow(bypass)}"]
    return "\n".join(lines) + "\n"


def ert_yaml(arch: Arch) -> str:
    """The ``ERT`` input (v0.3): per storage level random read/fill/update, then the MAC; the gated,
    skipped and idle actions are 0."""
    lines = ["ERT:", "  version: 0.3", "  tables:"]
    for lvl in arch.levels:
        energy = {"random_read": lvl.energy_pj.read, "random_fill": lvl.energy_pj.fill,
                  "random_update": lvl.energy_pj.update}
        lines += [f"  - name: {SYSTEM}.{lvl.name}", "    actions:"]
        lines += [f"    - {{name: {a}, energy: {_num(energy.get(a, 0))}}}" for a in STORAGE_ACTIONS]
    lines += [f"  - name: {SYSTEM}.mac", "    actions:", f"    - {{name: mac_random, energy: {float(arch.mac.energy_pj)!r}}}",
              "    - {name: mac_gated, energy: 0}", "    - {name: mac_skipped, energy: 0}"]
    return "\n".join(lines) + "\n"


def constraints_yaml(arch: Arch) -> str:
    """``mapspace_constraints`` fixing the data spaces of every ``keeps_fixed`` level below the outermost
    (what ``timeloop-mapper`` needs, and what lets :func:`from_timeloop` restore ``keeps_fixed``)."""
    lines = ["mapspace_constraints:"]
    for lvl in arch.levels[1:]:
        if lvl.keeps_fixed:
            bypass = [ds for ds in DATASPACES if ds not in lvl.keeps]
            lines += [f"- target: {lvl.name}", "  type: datatype", f"  keep: {_flow(lvl.keeps)}",
                      f"  bypass: {_flow(bypass)}"]
    if len(lines) == 1:
        return "mapspace_constraints: []\n"
    return "\n".join(lines) + "\n"


def refuse_imperfect(arch: Arch, layer: Layer, mapping: Mapping | Mappings, source: str) -> None:
    """Raise :class:`CosearchError` (one line, naming ``source`` and the dim) if the mapping is an
    imperfect factorization of the layer (every dim covered, within the largest padding cap, some
    over-covered): Timeloop's model rejects those. Other factor mismatches (a mapping of another
    layer) are left to :func:`~cosearch.model.validity.require_valid`'s message."""
    from ...mapping.factors import padding_limits

    arrays = Mappings.from_list([mapping], arch, source=source) if isinstance(mapping, Mapping) else mapping
    product = (arrays.temporal[0] * arrays.spatial_x[0] * arrays.spatial_y[0]).prod(axis=0)  # [D]
    dims = np.array(layer.dims, dtype=np.int64)
    if (product < dims).any() or (product > padding_limits(dims, 1.0)).any():
        return
    for d, dim in enumerate(DIM_INDEX):
        if int(product[d]) > int(layer.dims[d]):
            raise CosearchError(
                f"{source}: cannot export to Timeloop: factors of {dim} multiply to {int(product[d])}, more than "
                f"the layer's {layer.dims[d]} (an imperfect factorization; Timeloop's model rejects these, its "
                "issue #300)")


def to_timeloop(arch: Arch, layer: Layer, mapping: Mapping | Mappings, *,
                no_link_transfer: Iterable[str] | bool | None = None, source: str = "mapping",
                check: bool = True) -> dict[str, str]:
    """Timeloop's inputs for one (arch, layer, mapping): YAML strings under ``arch``, ``problem``,
    ``mapping`` and ``ERT`` (``timeloop-model arch.yaml problem.yaml mapping.yaml ERT.yaml``).

    ``mapping`` is a readable :class:`Mapping` or a one-row :class:`Mappings`. A mapping that does not
    fit the layer or the arch is refused with the reasons ``cosearch eval`` gives
    (:func:`~cosearch.model.validity.require_valid`; ``source`` names it); ``check=False`` writes it
    anyway (Timeloop's own probes of invalid mappings). See :func:`mapping_yaml` for ``no_link_transfer``.
    An imperfect factorization (factors over-covering a dim) is refused too: Timeloop's model rejects
    it (Timeloop issue #300).
    """
    refuse_block_mac(arch)
    if check:
        refuse_imperfect(arch, layer, mapping, source)
        require_valid(arch, layer, mapping, source)
    return {"arch": arch_yaml(arch), "problem": problem_yaml(layer),
            "mapping": mapping_yaml(arch, mapping, no_link_transfer=no_link_transfer), "ERT": ert_yaml(arch)}




def write_timeloop_files(out: Path, files: dict[str, str], constraints: str | None = None) -> list[str]:
    """Write the inputs of :func:`to_timeloop` as ``out/<key>.yaml`` (and ``constraints`` as
    ``out/constraints.yaml``), creating ``out``; return the paths written, in that order."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for key in TIMELOOP_FILES:
        write_atomic(out / f"{key}.yaml", files[key])
        written.append(str(out / f"{key}.yaml"))
    if constraints is not None:
        write_atomic(out / "constraints.yaml", constraints)
        written.append(str(out / "constraints.yaml"))
    return written


def write_timeloop_design(out: Path, arch: Arch, layers: Iterable[tuple[str, Layer, Mapping]], *,
                          no_link_transfer: Iterable[str] | bool | None = None) -> tuple[list[str], list[str]]:
    """The Timeloop inputs of every layer of one design: ``out/<folder>/`` per ``(folder, layer,
    mapping)`` (see :func:`write_timeloop_files`), and the arch's ``arch.yaml``, ``ERT.yaml`` and
    ``constraints.yaml`` once at ``out``. A layer whose mapping has no Timeloop form (e.g. a dim spread
    over both mesh axes) is skipped. Returns ``(written, skipped)``: the paths written (the shared files
    first; none at all if no layer could be exported) and one ``"<layer>: <reason>"`` per skipped layer."""
    refuse_block_mac(arch)
    constraints = constraints_yaml(arch)
    written: list[str] = []
    skipped: list[str] = []
    shared = None
    for folder, layer, mapping in layers:
        try:
            files = to_timeloop(arch, layer, mapping, no_link_transfer=no_link_transfer)
        except CosearchError as err:
            skipped.append(f"{layer.name}: {err}")
            continue
        written += write_timeloop_files(out / folder, files, constraints)
        shared = files
    if shared is None:
        return [], skipped
    write_atomic(out / "arch.yaml", shared["arch"])
    write_atomic(out / "ERT.yaml", shared["ERT"])
    write_atomic(out / "constraints.yaml", constraints)
    return [str(out / "arch.yaml"), str(out / "ERT.yaml"), str(out / "constraints.yaml")] + written, skipped


__all__ = [
    "TIMELOOP_FILES",
    "arch_yaml",
    "problem_yaml",
    "mapping_yaml",
    "ert_yaml",
    "constraints_yaml",
    "to_timeloop",
    "write_timeloop_files",
    "write_timeloop_design",
]
