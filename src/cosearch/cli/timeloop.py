"""``cosearch export timeloop`` and ``cosearch import timeloop``: Timeloop set-ups written and read."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .._io import write_atomic
from ..codesign.outputs import safe_file_name
from ..errors import CosearchError
from ._common import (
    _STORAGE_HELP,
    _handle_errors,
    _input_shape_option,
    _input_shapes,
    _one_line,
    _print_json,
    _select_layer,
    app,
)

export_app = typer.Typer(
    name="export", help="Write cosearch designs in other tools' formats (timeloop).", no_args_is_help=True,
    add_completion=False, context_settings={"help_option_names": ["-h", "--help"]},
)
import_app = typer.Typer(
    name="import", help="Read other tools' set-ups into cosearch files (timeloop).", no_args_is_help=True,
    add_completion=False, context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(export_app, name="export")
app.add_typer(import_app, name="import")


@export_app.command("timeloop")
@_handle_errors
def export_timeloop(
    out: Path = typer.Option(..., "--out", "-o", help="Output directory."),
    arch: Optional[str] = typer.Option(None, "--arch", "-a", help="Preset name or arch YAML/JSON file."),
    mapping: Optional[Path] = typer.Option(None, "--mapping", "-m", help="Mapping JSON/YAML file."),
    workload: Optional[str] = typer.Option(None, "--workload", "-w", help="Zoo network name or workload file."),
    layer: Optional[str] = typer.Option(None, "--layer", "-l", help="Layer of --workload (needed if it has several)."),
    shape: Optional[str] = typer.Option(None, "--shape", help='Inline layer instead of --workload, e.g. "K=64 C=64 P=56".'),
    input_shape: Optional[list[str]] = _input_shape_option(),
    study: Optional[str] = typer.Option(None, "--study", help="Export this co-design study's best design instead."),
    storage: Optional[str] = typer.Option(None, "--storage", help=_STORAGE_HELP),
    no_link_transfer: bool = typer.Option(False, "--no-link-transfer", help="Forbid Timeloop's link transfers (cosearch never models them)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line listing the files written."),
) -> None:
    """Timeloop inputs: arch.yaml, problem.yaml, mapping.yaml, ERT.yaml (+ constraints.yaml with the
    arch's fixed data spaces) for one mapping, or with --study for every layer of a study's best design
    (OUT/<layer>/...). Run them with timeloop-model OUT/arch.yaml OUT/problem.yaml OUT/mapping.yaml OUT/ERT.yaml."""
    nlt = True if no_link_transfer else None
    if study is not None:
        if any(v is not None for v in (arch, mapping, workload, layer, shape)) or input_shape:
            raise CosearchError("--study exports a study's own arch and mappings; drop --arch/--mapping/--workload/--layer/--shape/--input-shape")
        written = _export_study(out, study, storage, nlt)
    else:
        if arch is None or mapping is None:
            raise CosearchError("give --arch, --mapping and the layer (--workload [--layer] or --shape), or --study NAME")
        from ..arch.io import load_arch
        from ..interop.timeloop import constraints_yaml, to_timeloop, write_timeloop_files
        from ..mapping.mapping import load_mapping

        the_arch = load_arch(arch)
        the_layer = _select_layer(workload, layer, shape, _input_shapes(input_shape))
        files = to_timeloop(the_arch, the_layer, load_mapping(mapping), no_link_transfer=nlt, source=str(mapping))
        written = write_timeloop_files(out, files, constraints_yaml(the_arch))
    if as_json:
        _print_json({"out": str(out), "files": written})
        return
    for f in written:
        typer.echo(f"wrote {f}", err=True)


def _export_study(out: Path, study: str, storage: Optional[str], no_link_transfer: Optional[bool]) -> list[str]:
    """Write the Timeloop inputs of every layer of a study's best design (``out/<layer>/``, and the
    shared arch files at ``out``); warn about layers without a Timeloop form; return the paths written.

    The study store and the Timeloop writer are two libraries that must not know each other (the
    layering contracts keep ``interop`` off ``study``, and ``codesign`` and ``report`` off
    ``interop``), so the command joins them: it reads the best trial, the writer does the rest."""
    from ..arch.hwspace import HWSpace
    from ..interop.timeloop import write_timeloop_design
    from ..mapping.mapping import mapping_from_data
    from ..report.sources import open_store
    from ..workload.layer import Layer

    store = open_store(storage)
    st = store.load_study(study)
    best = store.best_trial(st)
    if best is None:
        raise CosearchError(f"study {study!r} has no complete trial with a value yet")
    space = (st.config or {}).get("hw_space")
    if not space:
        raise CosearchError(f"study {study!r}: its config has no hw_space")
    the_arch = HWSpace.model_validate(space).arch(dict(best.hw_params["values"]))
    layers = (
        (safe_file_name(rec.layer), Layer.from_shape_key(rec.layer, rec.shape_key),
         mapping_from_data(rec.mapping, f"study {study} layer {rec.layer}"))
        for rec in best.layers if rec.state == "complete" and rec.mapping
    )
    written, skipped = write_timeloop_design(out, the_arch, layers, no_link_transfer=no_link_transfer)
    if not written:
        reason = f" ({skipped[0]})" if skipped else ""
        raise CosearchError(f"study {study!r}: no layer of the best trial ({best.number}) can be exported{reason}")
    for note in skipped:
        typer.echo(f"warning: skipped layer {_one_line(note)}", err=True)
    return written


@import_app.command("timeloop")
@_handle_errors
def import_timeloop(
    inputs: list[Path] = typer.Argument(..., help="A directory of Timeloop YAML files, or the files (arch, problem, mapping, ERT; optional mapspace constraints)."),
    out: Path = typer.Option(Path("cosearch-out/timeloop-import"), "--out", "-o", help="Output directory."),
    name: Optional[str] = typer.Option(None, "--name", help="Arch name (default: the first input's name)."),
    layer_name: str = typer.Option("layer", "--layer-name", help="Name of the imported layer."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line listing the files written."),
) -> None:
    """cosearch files from Timeloop inputs: OUT/arch.yaml, OUT/layer.yaml, OUT/mapping.json
    (then: cosearch eval --arch OUT/arch.yaml --workload OUT/layer.yaml --mapping OUT/mapping.json)."""
    import yaml

    from ..interop.timeloop import import_timeloop_files

    arch_name = name or (inputs[0].name if inputs[0].is_dir() else inputs[0].parent.name) or "timeloop"
    the_arch, the_layer, readable = import_timeloop_files(inputs, name=arch_name, layer_name=layer_name)
    from ..model.validity import require_valid

    try:  # an invalid mapping is imported as it is (Timeloop probes them too), but not silently
        require_valid(the_arch, the_layer, readable, "the imported mapping")
    except CosearchError as err:
        typer.echo(f"warning: {_one_line(str(err))}; cosearch eval will refuse it", err=True)
    out.mkdir(parents=True, exist_ok=True)
    files = {"arch": out / "arch.yaml", "workload": out / "layer.yaml", "mapping": out / "mapping.json"}
    header = f"# Imported from Timeloop inputs {', '.join(map(str, inputs))}\n"
    write_atomic(files["arch"], header + yaml.safe_dump(the_arch.model_dump(mode="json", exclude_none=True), sort_keys=False))
    layer_doc = {"name": the_layer.name, "layers": [the_layer.model_dump(mode="json", exclude={"count"})]}
    write_atomic(files["workload"], header + yaml.safe_dump(layer_doc, sort_keys=False))
    write_atomic(files["mapping"], readable.model_dump_json(indent=1, exclude_none=True) + "\n")
    command = (f"cosearch eval --arch {files['arch']} --workload {files['workload']} --mapping {files['mapping']}")
    if as_json:
        _print_json({"out": str(out), "files": {k: str(v) for k, v in files.items()}, "eval": command})
        return
    for f in files.values():
        typer.echo(f"wrote {f}", err=True)
    typer.echo(command)
