"""``cosearch zoo``: the built-in networks, or one network's layers."""

from __future__ import annotations

from typing import Optional

import typer

from ..errors import CosearchError
from ._common import (
    _console,
    _handle_errors,
    _input_shape_option,
    _input_shapes,
    _load_cli_workload,
    _print_json,
    app,
)


@app.command()
@_handle_errors
def zoo(
    network: Optional[str] = typer.Argument(
        None, help="Show the layers of this zoo network or workload file instead of the list."
    ),
    input_shape: Optional[list[str]] = _input_shape_option(),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON line instead of tables."),
) -> None:
    """List the built-in networks (name, unique layers, layers with repeats, MACs), or one network's layers."""
    from ..report.tables import layer_shape_fields, network_table, zoo_table
    from ..workload.io import load_workload
    from ..workload.zoo import zoo_names

    shapes = _input_shapes(input_shape)
    if shapes and network is None:
        raise CosearchError("--input-shape fixes the inputs of an ONNX model; give the model (cosearch zoo MODEL.onnx)")
    if network is not None:
        net = _load_cli_workload(network, shapes)
        if as_json:
            _print_json({
                "name": net.name,
                "description": net.description,
                "unique_layers": len(net),
                "layers": net.num_layers,
                "macs": net.macs,
                "layer_list": [{**layer_shape_fields(l), "count": l.count, "macs": l.macs} for l in net],
            })
        else:
            _console().print(network_table(net))
        return
    nets = [load_workload(name) for name in zoo_names()]
    if as_json:
        _print_json([
            {"name": n.name, "unique_layers": len(n), "layers": n.num_layers, "macs": n.macs,
             "description": n.description}
            for n in nets
        ])
        return
    _console().print(zoo_table(nets))
