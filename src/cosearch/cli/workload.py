"""``cosearch workload show``: a workload's layers (zoo networks, files, ONNX models, torch factories)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from ..errors import CosearchError
from ._common import (
    _console,
    _handle_errors,
    _input_shape_option,
    _input_shapes,
    _print_json,
    app,
)

workload_app = typer.Typer(
    name="workload", help="Inspect workloads: zoo networks, workload files, ONNX models, torch factories.",
    no_args_is_help=True, add_completion=False, context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(workload_app, name="workload")


def _load_with_not_costed(source: str, input_shapes: dict[str, tuple[int, ...]]) -> tuple[Any, list[dict[str, str]]]:
    """The network of ``source`` plus the ops it does not cost (ONNX models and torch factories)."""
    from ..workload.importers.onnx import load_onnx
    from ..workload.importers.torch import load_factory, split_factory_spec
    from ..workload.io import HF_PREFIX, load_workload

    path = Path(source)
    if path.suffix.lower() == ".onnx":
        return load_onnx(path, input_shapes or None)
    if input_shapes:
        raise CosearchError(f"{source}: --input-shape applies only to ONNX models (.onnx files)")
    spec = split_factory_spec(source) if not path.exists() else None
    if spec is not None:
        return load_factory(*spec)
    if source.startswith(HF_PREFIX) and not path.exists():
        from ..workload.importers.hf import load_hf

        return load_hf(source[len(HF_PREFIX):])
    return load_workload(source), []


@workload_app.command("show")
@_handle_errors
def workload_show(
    source: str = typer.Argument(..., help="Zoo name, workload YAML/JSON, model.onnx, or model.py:factory."),
    input_shape: Optional[list[str]] = _input_shape_option(),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line instead of tables."),
) -> None:
    """Show a workload's layers (shape, count, MACs, weight/input/output words), totals and the ops not costed."""
    from rich.markup import escape
    from rich.table import Table

    from ..report.tables import element_ops_table, layer_shape_fields

    net, not_costed = _load_with_not_costed(source, _input_shapes(input_shape))
    rows = [{**layer_shape_fields(l), "shape": l.shape_text(), "count": l.count, "macs": l.macs,
             "weight_words": l.weight_words, "input_words": l.input_words, "output_words": l.output_words}
            for l in net]
    totals = {"unique_layers": len(net), "layers": net.num_layers, "macs": net.macs,
              "weight_words": sum(l.weight_words * l.count for l in net),
              "input_words": sum(l.input_words * l.count for l in net),
              "output_words": sum(l.output_words * l.count for l in net),
              "not_costed": len(not_costed)}
    extra: dict[str, Any] = {}
    if net.ops is not None:
        totals["op_elements"] = sum(op.elements * op.count for op in net.ops)
        totals["op_dram_words"] = sum(op.dram_words * op.count for op in net.ops)
        totals["embedding_weight_words"] = sum(op.weight_words * op.count for op in net.ops)
        extra["ops"] = [op.model_dump(exclude_none=True) for op in net.ops]
    if net.phases is not None:
        extra["phases"] = [phase.model_dump() for phase in net.phases]
    if as_json:
        _print_json({"name": net.name, "description": net.description, "totals": totals,
                     "layers": rows, "not_costed": not_costed, **extra})
        return
    console = _console()
    table = Table(title=f"{escape(net.name)}: {len(net)} unique layers, {net.num_layers} layers, {totals['macs']:,} MACs")
    for column, justify in (("layer", "left"), ("shape", "left"), ("count", "right"), ("MACs (each)", "right"),
                            ("weights", "right"), ("inputs", "right"), ("outputs", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(escape(row["name"]), row["shape"], str(row["count"]), f"{row['macs']:,}",
                      f"{row['weight_words']:,}", f"{row['input_words']:,}", f"{row['output_words']:,}")
    table.add_section()
    table.add_row("total", "", str(totals["layers"]), f"{totals['macs']:,}", f"{totals['weight_words']:,}",
                  f"{totals['input_words']:,}", f"{totals['output_words']:,}")
    console.print(table)
    if net.description:
        console.print(escape(net.description))
    if net.phases:
        console.print("phases: " + "; ".join(f"{escape(p.name)} ({p.tokens:,} tokens, {len(p.layers)} unique layers)"
                                             for p in net.phases))
    if net.ops:
        console.print(element_ops_table(net.ops))
    if not_costed:
        # one row per (op, reason), in order of first appearance; --json lists every op
        groups: dict[tuple[str, str], list[str]] = {}
        for entry in not_costed:
            groups.setdefault((entry["op"], entry["reason"]), []).append(entry["name"])
        skipped = Table(title=f"{len(not_costed)} ops not costed (no MACs counted; --json lists each one)")
        for column, justify in (("op", "left"), ("count", "right"), ("names", "left"), ("reason", "left")):
            skipped.add_column(column, justify=justify)  # type: ignore[arg-type]
        for (op, reason), names in groups.items():
            shown = ", ".join(names[:3]) + (f", ... (+{len(names) - 3})" if len(names) > 3 else "")
            skipped.add_row(escape(op), str(len(names)), escape(shown), escape(reason))
        console.print(skipped)
