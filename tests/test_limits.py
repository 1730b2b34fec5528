"""The numeric limits (cosearch/limits.py): the checks, and that every spec loader holds its numbers to
them with a one-line message naming the field and the limit."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from cosearch.arch.hwspace import load_hw_space
from cosearch.arch.io import load_arch
from cosearch.errors import CosearchError
from cosearch.limits import BANDWIDTH_MIN, FLOAT_MAX, GRID_MAX, INT_MAX, check_float, check_int, layer_work
from cosearch.mapping.constraints.load import load_constraints
from cosearch.mapping.mapping import Mappings, mapping_from_data
from cosearch.model.evaluate import evaluate
from cosearch.workload.io import network_from_data, parse_shape
from cosearch.workload.layer import Layer, deduplicate


def test_check_int_bounds_and_types() -> None:
    assert check_int(INT_MAX, "n") == INT_MAX
    assert check_int(3.0, "n") == 3
    with pytest.raises(CosearchError, match=r"^--budget must be at most 2\*\*62 = 4,611,686,018,427,387,904, got"):
        check_int(INT_MAX + 1, "--budget")
    with pytest.raises(CosearchError, match="n must be >= 1, got 0"):
        check_int(0, "n", low=1)
    for bad in (True, 2.5, "7", None):
        with pytest.raises(CosearchError, match="must be an integer"):
            check_int(bad, "n")


def test_check_float_refuses_non_finite_and_out_of_range() -> None:
    assert check_float(0.0, "e") == 0.0
    assert check_float(FLOAT_MAX, "e") == FLOAT_MAX
    for bad in (math.inf, -math.inf, math.nan):
        with pytest.raises(CosearchError, match="e must be a finite number"):
            check_float(bad, "e")
    with pytest.raises(CosearchError, match=r"e must be at most 1e\+15"):
        check_float(FLOAT_MAX * 10, "e")
    with pytest.raises(CosearchError, match="e must be >= 0"):
        check_float(-1e-300, "e")
    with pytest.raises(CosearchError, match="bw must be > 0"):
        check_float(0, "bw", low_open=True)
    with pytest.raises(CosearchError, match="must be a number"):
        check_float("1", "x")


def test_layer_work_bounds_every_kernel_count() -> None:
    """The work of a layer bounds its tile words and every access count of every level (checked on
    random valid mappings of a layer with large strides and dilations, where inputs dominate)."""
    from cosearch.mapping.space import MapSpace

    layer = Layer(K=4, C=3, P=7, Q=5, R=3, S=2, Wstride=5, Hstride=3, Wdilation=2, Hdilation=4, N=2)
    assert layer.work == layer_work(layer.dims, 5, 2, 3, 4) == layer.macs * 7 * 7
    arch = load_arch("simple-64")
    batch = MapSpace(arch, layer).sample(200, np.random.default_rng(0))
    costs = evaluate(arch, layer, batch, breakdown=True)
    assert costs.valid.all()
    for counts in (costs.reads, costs.fills, costs.updates, costs.tile_words):
        assert int(counts.max()) <= layer.work
    assert max(layer.input_words, layer.weight_words, layer.output_words) <= layer.work


def test_layer_work_over_the_limit_is_refused_everywhere() -> None:
    big = {"K": 2**31, "C": 2**31}  # each fine, their work (2**62 × 4) is not
    with pytest.raises(ValueError, match=r"too large: .* exceeds 2\*\*62"):
        Layer(**big)
    with pytest.raises(CosearchError, match=r"^shape 'K=2147483648 C=2147483648': too large"):
        parse_shape("K=2147483648 C=2147483648")
    with pytest.raises(CosearchError, match=r"^w.yaml: layers\[0\]: too large"):
        network_from_data({"name": "n", "layers": [big]}, "w.yaml")
    with pytest.raises(CosearchError, match=r"^w.yaml: layers\[0\].K: must be at most 2\*\*62"):
        network_from_data({"name": "n", "layers": [{"K": 10**20}]}, "w.yaml")
    # repeats count: two layers of one shape whose summed count takes the work over the limit
    half = Layer(name="a", K=2**30, C=2**29, count=1)  # work 2**59 × 4 = 2**61
    with pytest.raises(CosearchError, match=r"layer a \(repeated 3 times\): too large"):
        deduplicate("net", [half, half.model_copy(update={"name": "b", "count": 2})])


def _simple_arch() -> dict:
    return load_arch("simple-64").model_dump(mode="json")


@pytest.mark.parametrize(
    "path, value, needle",
    [
        (("levels", 1, "size_words"), INT_MAX + 1, "levels.1.size_words: Input should be less than or equal to 4611686018427387904"),
        (("levels", 1, "size_words"), 1e30, "levels.1.size_words"),
        (("levels", 2, "instances"), 2**63, "levels.2.instances"),
        (("levels", 1, "energy_pj", "read"), math.inf, "levels.1.energy_pj.read: Input should be a finite number"),
        (("levels", 1, "energy_pj", "fill"), math.nan, "levels.1.energy_pj.fill: Input should be a finite number"),
        (("levels", 1, "energy_pj", "update"), 1e300, "levels.1.energy_pj.update: Input should be less than or equal to 1000000000000000"),
        (("levels", 1, "energy_pj", "read"), -1.0, "levels.1.energy_pj.read: Input should be greater than or equal to 0"),
        (("levels", 1, "area_mm2"), math.inf, "levels.1.area_mm2"),
        (("levels", 0, "bandwidth"), {"read": 1e-300}, "levels.0.bandwidth.read: Input should be greater than or equal to 0.000000001"),
        (("levels", 0, "bandwidth"), {"shared": math.inf}, "levels.0.bandwidth.shared"),
        (("levels", 0, "word_bits"), 0, "levels.0.word_bits"),
        (("mac", "energy_pj"), math.inf, "mac.energy_pj: Input should be a finite number"),
    ],
)
def test_arch_numbers_out_of_range(path: tuple, value, needle: str) -> None:
    data = _simple_arch()
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(CosearchError, match="^arch: field ") as err:
        load_arch(data)
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


def test_arch_file_with_yaml_infinity(tmp_path) -> None:
    """``.inf`` and ``.nan`` in YAML, ``Infinity`` and ``NaN`` in JSON (which Python's parser accepts)."""
    data = _simple_arch()
    data["levels"][1]["energy_pj"]["read"] = math.inf
    (tmp_path / "a.json").write_text(json.dumps(data))
    with pytest.raises(CosearchError, match=r"a.json: field levels.1.energy_pj.read: Input should be a finite number"):
        load_arch(tmp_path / "a.json")
    text = (tmp_path / "a.json").read_text().replace("Infinity", "1")
    (tmp_path / "b.yaml").write_text(text.replace('"read": 1', '"read": .nan'))
    with pytest.raises(CosearchError, match=r"b.yaml: field levels.1.energy_pj.read: Input should be a finite"):
        load_arch(tmp_path / "b.yaml")


def test_estimated_numbers_beyond_the_limit_are_refused() -> None:
    data = load_arch("eyeriss-168").model_dump(mode="json")
    data["estimator"] = "cacti-65nm"
    data["levels"][1]["size_words"] = 2**62
    data["levels"][1]["word_bits"] = 2**60
    with pytest.raises(CosearchError, match=r"^arch: level \w+: cacti-65nm estimates its read energy at .* outside"):
        load_arch(data)


def test_mapping_factors_within_int64() -> None:
    arch = load_arch("simple-64")
    with pytest.raises(CosearchError, match=r"m.json: field levels.0.temporal: Value error, factor of K must be at most 2\*\*62"):
        mapping_from_data({"levels": [{"level": "DRAM", "temporal": {"K": 2**63}}]}, "m.json")
    # each factor fits, their product does not: refused before the kernel could wrap around
    m = mapping_from_data({"levels": [{"level": "DRAM", "temporal": {"K": 2**40}},
                                      {"level": "GLB", "temporal": {"K": 2**40}}]}, "m.json")
    with pytest.raises(CosearchError, match=r"^m.json: the factors of K multiply to 1.21e\+24, more than 2\*\*62"):
        Mappings.from_list([m], arch, source="m.json")


def test_constraint_factors_within_int64(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    for factors in ("'K=99999999999999999999'", "{K: 99999999999999999999}"):
        path.write_text(f"constraints:\n  - {{type: temporal, target: DRAM, factors: {factors}}}\n")
        with pytest.raises(CosearchError, match=r"^\S*c.yaml: .*factor of K must be at most 2\*\*62"):
            load_constraints(path, load_arch("simple-64"))


def test_hw_space_numbers(tmp_path) -> None:
    import yaml

    data = load_hw_space("simple").model_dump(mode="json")
    name = next(iter(data["params"]))
    for change, needle in (
        ({"dram_bandwidth": math.inf}, "field dram_bandwidth: Input should be a finite number"),
        ({"dram_bandwidth": BANDWIDTH_MIN / 10}, "field dram_bandwidth: Input should be greater than or equal to"),
        ({"word_bits": 0}, "field word_bits"),
        ({"params": {**data["params"], name: {"low": 1, "high": math.inf}}}, f"field params.{name}.high"),
        ({"params": {**data["params"], name: {"low": 1, "high": 2.0**70, "scale": "log2"}}},
         f"field params.{name}.high: Input should be less than or equal to 46116860184273"),
        ({"params": {**data["params"], name: {"low": 1, "high": GRID_MAX + 1}}},
         f"field params.{name}: Value error, linear range 1..1000001 has more than 1,000,000 values"),
        # a log2 grid from 0.5 would round its first value to 0 (it failed at the first build before)
        ({"params": {**data["params"], name: {"low": 0.5, "high": 64, "scale": "log2"}}},
         f"field params.{name}: Value error, low 0.5 gives the grid value 0 (grid values are whole numbers"),
    ):
        path = tmp_path / "space.yaml"
        path.write_text(yaml.safe_dump({**data, **change}))
        with pytest.raises(CosearchError) as err:
            load_hw_space(path)
        assert str(err.value).startswith(f"{path}: ") and needle in str(err.value), str(err.value)


def test_hw_space_whose_largest_point_overflows_is_refused(tmp_path) -> None:
    """Each parameter within range, but the largest design they make holds more words than int64 can
    count: refused when the space is read, before a search could propose that point."""
    import yaml

    data = load_hw_space("simple").model_dump(mode="json")
    data["params"]["glb_kb"] = {"low": 8, "high": 2**60, "scale": "log2"}
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(CosearchError, match=r"space.yaml: the largest point \(hw-\S+\) is not a valid architecture: "
                                            r".*field levels.1.size_words: Input should be less than"):
        load_hw_space(path)


def test_library_settings_share_the_limits() -> None:
    from cosearch.mappers.layer import map_layer
    from cosearch.mappers.network import map_network
    from cosearch.workload.layer import Network

    arch, layer = load_arch("simple-64"), Layer(K=4)
    for kwargs, needle in (({"budget": INT_MAX + 1}, "budget must be at most 2**62"),
                           ({"seed": 2**64}, "seed must be at most 2**62"),
                           ({"time_limit": math.nan}, "time limit (seconds) must be a finite number"),
                           ({"time_limit": math.inf}, "time limit (seconds) must be a finite number")):
        with pytest.raises(CosearchError) as err:
            map_layer(arch, layer, **kwargs)
        assert needle in str(err.value)
    with pytest.raises(CosearchError, match=r"^budget must be at most 2\*\*62"):
        map_network(arch, Network(name="n", layers=[layer]), budget=INT_MAX + 1)


def test_codesign_area_budget_must_be_finite_and_positive() -> None:
    from cosearch.codesign.driver import Codesign
    from cosearch.workload import load_workload

    for bad in (math.inf, math.nan, 0.0, -1.0):
        with pytest.raises(CosearchError, match=r"^area budget \(mm²\) must be"):
            Codesign([load_workload("dqn")], hw_space=load_hw_space("simple"), area_budget_mm2=bad, storage="sqlite://")


def test_extremes_within_the_limits_give_finite_costs_and_exact_counts() -> None:
    """The largest energies, the smallest bandwidths, capacities of 2**62 and layers whose work is close
    to the limit: every cost is finite and every count within the layer's work (no int64 wrap-around)."""
    from cosearch.mapping.space import MapSpace

    data = _simple_arch()
    for lvl in data["levels"]:
        lvl["energy_pj"] = {"read": FLOAT_MAX, "fill": FLOAT_MAX, "update": FLOAT_MAX}
        lvl["bandwidth"] = {"read": BANDWIDTH_MIN, "write": BANDWIDTH_MIN, "shared": BANDWIDTH_MIN}
        if lvl["size_words"] is not None:
            lvl["size_words"] = INT_MAX
    data["mac"]["energy_pj"] = FLOAT_MAX
    arch = load_arch(data)
    rng = np.random.default_rng(0)
    checked = 0
    while checked < 8:
        fields = {k: int(2 ** rng.uniform(0, 14)) for k in "NKCPQRS"}
        fields.update(Wstride=int(2 ** rng.uniform(0, 12)), Hstride=int(2 ** rng.uniform(0, 12)),
                      Wdilation=int(2 ** rng.uniform(0, 8)), Hdilation=int(2 ** rng.uniform(0, 8)))
        work = layer_work(tuple(fields.get(d, 1) for d in "NGKCPQRS"), fields["Wstride"], fields["Wdilation"],
                          fields["Hstride"], fields["Hdilation"])
        if not INT_MAX / 2**10 < work <= INT_MAX:
            continue
        layer = Layer(**fields)
        costs = evaluate(arch, layer, MapSpace(arch, layer).sample(32, rng), breakdown=True)
        assert costs.valid.all()
        assert np.isfinite(costs.energy_pj).all() and np.isfinite(costs.edp).all() and (costs.edp > 0).all()
        for counts in (costs.reads, costs.fills, costs.updates, costs.tile_words):
            assert (counts >= 0).all() and int(counts.max()) <= layer.work
        checked += 1


def test_settings_refuse_non_finite_and_huge_budgets_and_time_limits() -> None:
    """A float budget is taken when integral, inf/NaN/huge ones are one-line errors, before any run."""
    from cosearch.mappers.layer import map_layer
    from cosearch.mappers.network import map_network
    from cosearch.mappers.settings import check_settings
    from cosearch.workload.layer import Network

    arch, layer = load_arch("simple-64"), Layer(K=4)
    assert map_layer(arch, layer, budget=3.0).evaluations == 3
    for budget in (math.inf, math.nan, 10**400):
        with pytest.raises(CosearchError, match="^budget must be"):
            map_network(arch, Network(name="n", layers=[layer]), budget=budget)
    with pytest.raises(CosearchError, match=r"^--time-limit must be at most 1e\+15"):
        check_settings(optimizer="auto", objective="edp", budget=None, time_limit=1e19, jobs=1, seed=0, cli=True)
    with pytest.raises(CosearchError, match="a 401-digit number$"):
        map_layer(arch, layer, budget=10**400)


def test_a_tiny_time_limit_still_runs_one_batch() -> None:
    from cosearch.mappers.layer import map_layer

    result = map_layer(load_arch("simple-64"), Layer(K=4), time_limit=1e-300)
    assert result.evaluations > 0 and math.isfinite(result.costs.edp[0])
