"""Every file under examples/ loads: arches with load_arch, workloads with load_workload, mappings with
load_mapping and evaluate to a valid result on the arch and layer they were written for; Hugging Face
configs (examples/hf/) as `hf:` workloads."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO
from cosearch import evaluate, load_arch, load_mapping, load_workload
from cosearch.arch.hwspace import load_hw_space
from cosearch.arch.spec import Arch
from cosearch.mapping.mapping import Mappings
from cosearch.workload.layer import Network

EXAMPLES = REPO / "examples"

MAPPING_TARGETS: dict[str, tuple[str, str, str]] = {
    # mapping file: (arch, workload, layer)
    "eyeriss168_resnet_conv3x3.json": ("eyeriss-168", "resnet18", "layer1_conv3x3"),
    "my_accelerator_tiny_conv1.json": ("arch/my_accelerator.yaml", "workloads/tiny_net.yaml", "conv1"),
}
"""What each example mapping maps; a new mapping file must be added here (the test says so)."""

TIMELOOP_ENERGY_PJ = {
    # shared/reference case A_eyeriss_14x12|resnet18_conv2_3x3|mapper-edp|T1 (the mapping's source)
    "eyeriss168_resnet_conv3x3.json": (1183866880.0, 688128),
}

LOADERS = {"arch", "workloads", "mappings", "constraints", "hf", "hwspaces"}
IGNORED_SUFFIXES = {".md", ".txt"}


def _files(kind: str) -> list[Path]:
    folder = EXAMPLES / kind
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix not in IGNORED_SUFFIXES)


def _resolve(text: str) -> str:
    """Example-relative paths (``arch/x.yaml``) become absolute; names (presets, zoo) stay."""
    candidate = EXAMPLES / text
    return str(candidate) if candidate.exists() else text


def _id(path: Path) -> str:
    return str(path.relative_to(EXAMPLES))


def test_examples_folder_has_only_known_kinds() -> None:
    for path in EXAMPLES.rglob("*"):
        if not path.is_file() or path.suffix in IGNORED_SUFFIXES:
            continue
        kind = path.relative_to(EXAMPLES).parts[0]
        assert kind in LOADERS, f"examples/{_id(path)}: no loader for examples/{kind}/; extend tests/test_examples.py"


def test_there_are_examples_of_each_kind() -> None:
    for kind in LOADERS:
        assert _files(kind), f"no example files under examples/{kind}/"


@pytest.mark.parametrize("path", _files("arch"), ids=_id)
def test_arch_example_loads(path: Path) -> None:
    arch = load_arch(path)
    assert isinstance(arch, Arch)
    assert arch.num_levels >= 2
    assert arch.num_pes >= 1


@pytest.mark.parametrize("path", _files("hwspaces"), ids=_id)
def test_hw_space_example_loads(path: Path) -> None:
    """A hardware space file (on a user template or a registered one); running one is in
    tests/arch/templates/test_user_templates.py."""
    space = load_hw_space(path)
    assert space.arch(dict(space.template_spec.reference.values)).num_pes >= 1


@pytest.mark.parametrize("path", _files("workloads"), ids=_id)
def test_workload_example_loads(path: Path) -> None:
    net = load_workload(path)
    assert isinstance(net, Network)
    assert len(net) >= 1
    assert net.macs > 0


@pytest.mark.parametrize("path", _files("hf"), ids=_id)
def test_hugging_face_config_example_loads(path: Path) -> None:
    pytest.importorskip("transformers")
    net = load_workload(f"hf:{path}:seq=8")
    assert isinstance(net, Network)
    assert net.macs > 0 and net.ops and net.phases


@pytest.mark.parametrize("path", _files("constraints"), ids=_id)
def test_constraints_example_loads(path: Path) -> None:
    from cosearch.mapping.constraints import load_constraints

    arch = load_arch("simple-64" if path.name.startswith("simple64") else "eyeriss-168")
    assert load_constraints(path, arch).constraints


@pytest.mark.parametrize("path", _files("mappings"), ids=_id)
def test_mapping_example_is_valid(path: Path) -> None:
    assert path.name in MAPPING_TARGETS, f"examples/{_id(path)}: add its (arch, workload, layer) to MAPPING_TARGETS"
    arch_name, workload_name, layer_name = MAPPING_TARGETS[path.name]
    arch = load_arch(_resolve(arch_name))
    layer = load_workload(_resolve(workload_name)).layer(layer_name)
    mapping = load_mapping(path)
    costs = evaluate(arch, layer, Mappings.from_list([mapping], arch, source=str(path)), breakdown=True)
    assert bool(costs.valid[0]), f"{path.name}: invalid ({costs.reason_text(0)})"
    assert costs.energy_pj[0] > 0 and costs.cycles[0] >= costs.compute_cycles[0]
    if path.name in TIMELOOP_ENERGY_PJ:
        energy, cycles = TIMELOOP_ENERGY_PJ[path.name]
        assert float(costs.energy_pj[0]) == pytest.approx(energy, rel=1e-12)
        assert float(costs.cycles[0]) == cycles


def test_example_mappings_cover_the_targets() -> None:
    names = {p.name for p in _files("mappings")}
    assert names == set(MAPPING_TARGETS), "MAPPING_TARGETS lists a mapping file that does not exist"


# ---------------------------------------------------------------------------------------------------
# the snippets in docs/formats.md are working inputs too

FORMATS_MD = EXAMPLES.parent / "docs" / "formats.md"


def _snippets(lang: str) -> list[str]:
    import re

    if not FORMATS_MD.exists():
        return []
    return re.findall(rf"```{lang}\n(.*?)```", FORMATS_MD.read_text(), re.S)


@pytest.mark.skipif(not FORMATS_MD.exists(), reason="docs/formats.md not found")
def test_formats_doc_snippets_load(tmp_path: Path) -> None:
    yaml_blocks = _snippets("yaml")
    json_blocks = _snippets("json")
    # arch, workload, LLM workload, user template (a hardware space), constraints; mapping
    assert len(yaml_blocks) == 5 and len(json_blocks) == 1
    arch_file = tmp_path / "arch.yaml"
    arch_file.write_text(yaml_blocks[0])
    arch = load_arch(arch_file)
    assert arch.fanout_level == 1 and arch.num_pes == 64
    net_file = tmp_path / "net.yaml"
    net_file.write_text(yaml_blocks[1])
    assert len(load_workload(net_file)) == 2
    net_file.write_text(yaml_blocks[2])
    llm = load_workload(net_file)
    assert [op.op for op in llm.ops] == ["softmax", "embedding"] and llm.phases[0].layers == ["q_proj", "attn_scores"]
    space_file = tmp_path / "space.yaml"
    space_file.write_text(yaml_blocks[3])  # the worked example of "User templates": the committed example's space
    assert load_hw_space(space_file) == load_hw_space(EXAMPLES / "hwspaces" / "four_level.yaml")
    # the mapping snippet is the eyeriss-168 example, abbreviated: same costs
    mapping_file = tmp_path / "m.json"
    mapping_file.write_text(json_blocks[0])
    eyeriss = load_arch("eyeriss-168")
    layer = load_workload("resnet18").layer("layer1_conv3x3")
    doc = evaluate(eyeriss, layer, Mappings.from_list([load_mapping(mapping_file)], eyeriss))
    example = evaluate(eyeriss, layer, Mappings.from_list([load_mapping(EXAMPLES / "mappings" /
                                                                        "eyeriss168_resnet_conv3x3.json")], eyeriss))
    assert bool(doc.valid[0])
    assert float(doc.energy_pj[0]) == float(example.energy_pj[0])
    assert float(doc.cycles[0]) == float(example.cycles[0])
