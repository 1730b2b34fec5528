"""torch import (issue #6): from_torch via torch.fx (+ eager fallback) gives the same layers as the
ONNX import of the same module; model.py:factory workloads; `workload show` on a factory."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from cosearch import load_workload  # noqa: E402
from cosearch.cli import app  # noqa: E402
from cosearch.errors import CosearchError  # noqa: E402
from cosearch.workload.importers.onnx import load_onnx  # noqa: E402
from cosearch.workload.importers.torch import from_torch, torch_layers  # noqa: E402
from cosearch.workload.zoo import bert_base, dqn, resnet18  # noqa: E402
from test_onnx_import import _runner, build, exported, shape_counts  # noqa: E402,F401  (exported: fixture)


@pytest.mark.parametrize("name", ["resnet18", "inverted_residual", "dqn", "conv1d", "bert_block"])
def test_fx_matches_onnx(name, exported):  # noqa: F811  (the fixture imported above)
    module, inputs = build(name)
    net, not_costed = torch_layers(module, inputs)
    assert "torch.fx" in net.description
    onnx_net, _ = load_onnx(exported(name))
    assert shape_counts(net) == shape_counts(onnx_net)
    assert not_costed and all({"name", "op", "reason"} == set(entry) for entry in not_costed)


def test_from_torch_matches_zoo():
    assert shape_counts(from_torch(*build("resnet18"))) == shape_counts(resnet18())
    assert from_torch(*build("resnet18")).macs == 1_814_073_344
    assert shape_counts(from_torch(*build("dqn"))) == shape_counts(dqn())
    net = from_torch(*build("bert_block"))
    assert shape_counts(net) == shape_counts(bert_base())
    assert any(layer.G == 12 and layer.K == 128 and layer.C == 64 and layer.P == 128 for layer in net)


class Functional(nn.Module):
    """F.conv2d / F.linear / torch.bmm / torch.matmul with explicit weights."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(8, 2, 3, 3))
        self.fc = nn.Parameter(torch.randn(10, 8 * 4 * 4))

    def forward(self, x):
        y = F.conv2d(x, self.w, stride=2, padding=1, dilation=1, groups=2)  # [2, 8, 4, 4]
        z = F.linear(torch.flatten(y, 1), self.fc)  # [2, 10]
        a = torch.bmm(y.flatten(2), y.flatten(2).transpose(1, 2))  # [2, 8, 16] @ [2, 16, 8]
        return z.sum() + torch.matmul(a, a).sum() + (a @ a.transpose(1, 2)).sum()


def _functional_expected():
    return {
        (2, 2, 4, 2, 4, 4, 3, 3, 2, 2, 1, 1),  # conv: N G K C P Q R S strides dilations
        (2, 1, 10, 128, 1, 1, 1, 1, 1, 1, 1, 1),  # linear
        (1, 2, 8, 16, 8, 1, 1, 1, 1, 1, 1, 1),  # bmm: G=2, P=8, C=16, K=8
        (1, 2, 8, 8, 8, 1, 1, 1, 1, 1, 1, 1),  # matmul: G=2, P=8, C=8, K=8
    }


def _matmul_count(net) -> int:
    return next(layer.count for layer in net if layer.shape_key() == (1, 2, 8, 8, 8, 1, 1, 1, 1, 1, 1, 1))


def test_functional_ops():
    net = from_torch(Functional(), torch.randn(2, 4, 8, 8))
    assert {layer.shape_key() for layer in net} == _functional_expected()
    assert _matmul_count(net) == 2  # torch.matmul and @


class Untraceable(Functional):
    """Data-dependent control flow: fx cannot trace it, the eager fallback records the same layers."""

    def forward(self, x):
        if x.sum() > -1e9:
            return super().forward(x)
        return x


def test_eager_fallback():
    net, not_costed = torch_layers(Untraceable(), (torch.randn(2, 4, 8, 8),))
    assert "eager" in net.description
    assert {layer.shape_key() for layer in net} == _functional_expected()
    assert _matmul_count(net) == 2
    assert {"sum", "flatten", "transpose"} <= {entry["op"] for entry in not_costed}

    class Block(nn.Module):  # modules under the fallback: Conv2d/Linear via their F calls
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.fc = nn.Conv1d(3, 6, 3), nn.Linear(6, 4)

        def forward(self, x):
            y = self.conv(x)
            if y.mean() > 1e9:
                y = y * 2
            return self.fc(y.transpose(1, 2))  # [1, 8, 6] -> N=1, P=8

    net = from_torch(Block(), torch.randn(1, 3, 10))
    keys = {layer.shape_key()[:8] for layer in net}
    assert keys == {(1, 1, 6, 3, 8, 1, 3, 1), (1, 1, 4, 6, 8, 1, 1, 1)}
    assert {layer.name for layer in net} == {"conv.conv1d", "fc.linear"}


def test_nothing_to_cost():
    with pytest.raises(CosearchError, match=r"no conv, gemm or matmul op to cost \(ops: ReLU x1\)"):
        from_torch(nn.Sequential(nn.ReLU()), torch.randn(1, 4))
    with pytest.raises(CosearchError, match="expected a torch.nn.Module"):
        from_torch(lambda x: x, torch.randn(1))
    with pytest.raises(CosearchError, match="failed"):
        from_torch(nn.Linear(3, 4), torch.randn(1, 5))


FACTORY = """
import torch
from torch import nn

def make():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 16 * 16, 10)), torch.randn(1, 3, 16, 16)

def broken():
    return 42
"""


def test_factory_workload_and_cli(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(FACTORY)
    net = load_workload(f"{path}:make")
    assert net.name == "model" and net.macs == 8 * 3 * 9 * 16 * 16 + 10 * 8 * 16 * 16
    result = _runner().invoke(app, ["workload", "show", f"{path}:make", "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["totals"]["macs"] == net.macs
    assert {entry["op"] for entry in data["not_costed"]} == {"ReLU", "Flatten"}
    with pytest.raises(CosearchError, match=r"must return \(module, example_inputs\)"):
        load_workload(f"{path}:broken")
    with pytest.raises(CosearchError, match="no function 'nope'"):
        load_workload(f"{path}:nope")
    with pytest.raises(CosearchError, match="no such file"):
        load_workload(f"{tmp_path / 'missing.py'}:make")
    bad = _runner().invoke(app, ["workload", "show", f"{path}:nope"])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: ") and len(bad.stderr.strip().splitlines()) == 1
