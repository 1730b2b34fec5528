"""The fuzz harness in the test suite (issue #19): malformed and extreme inputs of every file format
and numeric option (generators: ``cosearch.fuzz.strategies``) through the library entry points, and a
sample through the command line; each must end in a clean ``CosearchError`` (CLI: one ``error:`` line,
exit 2) or a valid result with finite, non-negative costs.

The bounded ``fuzz-ci`` profile (the default; derandomised, so CI sees the same inputs every run)
draws 40 inputs per kind and 60 command lines; ``COSEARCH_FUZZ_PROFILE=fuzz-deep`` draws 500 and 200
with fresh randomness. ``benchmarks/fuzz.py --n N`` counts the outcomes of N inputs.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings

from cosearch.errors import CosearchError
from cosearch.fuzz.harness import Outcome, judge_cli, judge_costs, run_case, run_cli_case
from cosearch.fuzz.strategies import KINDS, Case, cases
from cosearch.fuzz.targets import TARGETS

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile("fuzz-ci", max_examples=40, deadline=None, derandomize=True, database=None,
                          suppress_health_check=_QUIET)
settings.register_profile("fuzz-deep", max_examples=500, deadline=None, database=None, suppress_health_check=_QUIET)
PROFILE = settings.get_profile(os.environ.get("COSEARCH_FUZZ_PROFILE", "fuzz-ci"))
CLI_EXAMPLES = 60 if PROFILE.max_examples <= 40 else 200


def test_every_kind_has_a_target() -> None:
    assert set(KINDS) == set(TARGETS)
    assert {"arch", "workload", "mapping", "constraints", "hw_space", "template", "onnx", "timeloop", "reference",
            "options"} <= set(KINDS)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_library_entry_points_fail_cleanly_or_give_finite_costs(kind: str) -> None:
    seen: list[Outcome] = []

    @PROFILE
    @given(cases(kind))
    def check(case: Case) -> None:
        outcome = run_case(case)
        seen.append(outcome)
        assert outcome.ok, f"{kind}: {outcome.status}: {outcome.message}"

    check()
    # the generators reach valid inputs too, not only errors: some of the kind's inputs load and cost
    assert any(o.status == "valid" for o in seen), f"{kind}: no valid input in {len(seen)}"


@settings(PROFILE, max_examples=CLI_EXAMPLES)
@given(cases("cli"))
def test_command_line_fails_on_one_line_or_gives_finite_costs(case: Case) -> None:
    outcome = run_cli_case(case)
    assert outcome.ok, f"{case.args['input']}: {' '.join(case.args['argv'])}: {outcome.status}: {outcome.message}"


# ---- the judge itself must be able to fail -----------------------------------------------------------
def test_judge_flags_non_finite_and_negative_costs() -> None:
    assert judge_costs([1.0, 0.0, 3]).status == "valid"
    assert judge_costs([1.0, float("inf")]).status == "non_finite"
    assert judge_costs([float("nan")]).status == "non_finite"
    assert judge_costs([-2.0]).status == "non_finite"


def test_judge_of_the_command_line() -> None:
    assert judge_cli(2, "", "error: x.yaml: bad\n").status == "error"
    assert judge_cli(2, "", "Usage: cosearch\nError: bad\n").status == "unexpected"
    assert judge_cli(1, "", "error: internal error (ValueError: x)\n").status == "unexpected"
    assert judge_cli(0, '{"energy_pj": 5.0, "layers": [{"cycles": 2}]}\n', "").status == "valid"
    assert judge_cli(0, '{"energy_pj": null}\n', "").status == "non_finite"


def test_a_bug_is_counted_unexpected_not_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception other than CosearchError, or a multi-line CosearchError, is never a clean error."""
    def broken(case: Case, folder) -> list[float]:
        raise KeyError("levels")

    def two_lines(case: Case, folder) -> list[float]:
        err = CosearchError("x")
        err.args = ("line one\nline two",)
        raise err

    def inf_cost(case: Case, folder) -> list[float]:
        return [float("inf")]

    for target, status in ((broken, "unexpected"), (two_lines, "unexpected"), (inf_cost, "non_finite")):
        monkeypatch.setitem(TARGETS, "arch", target)
        assert run_case(Case("arch", {"input.yaml": b"{}"})).status == status


def test_the_outermost_mapping_is_valid_on_a_block_mac_arch() -> None:
    """The fuzz targets' reference mapping (every loop at DRAM) factors the dims the arch's map space
    sees: on a block-MAC arch those are the blocked dims, and the mapping is valid there."""
    from pathlib import Path

    from cosearch.arch.io import load_arch
    from cosearch.fuzz.seeds import SMALL_LAYER
    from cosearch.fuzz.targets import outermost_mapping
    from cosearch.model.evaluate import evaluate
    from cosearch.workload.layer import Layer

    arch = load_arch(str(Path(__file__).parents[2] / "examples" / "arch" / "vector_pe_4x4.yaml"))
    layer = Layer(**SMALL_LAYER)
    assert arch.mac.block
    assert bool(evaluate(arch, layer, outermost_mapping(arch, layer)).valid[0])
