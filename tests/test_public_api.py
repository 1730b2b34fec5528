"""The declared public API: every name ``cosearch`` exports resolves, and nothing else is exported."""

from __future__ import annotations

import importlib

import pytest

import cosearch


@pytest.mark.parametrize("name", sorted(cosearch.__all__))
def test_every_exported_name_resolves(name: str) -> None:
    assert getattr(cosearch, name) is not None


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'search'"):
        cosearch.search  # noqa: B018  (the attribute access is the test)


@pytest.mark.parametrize("package", ["cosearch.study", "cosearch.mappers", "cosearch.codesign"])
def test_package_exports_resolve(package: str) -> None:
    module = importlib.import_module(package)
    names = getattr(module, "__all__", [])
    assert names, f"{package} declares no public names"
    for name in names:
        assert getattr(module, name) is not None, name


def test_readme_entry_points_are_public() -> None:
    """What the README's Python examples use is reachable from the top-level package."""
    for name in ["load_arch", "load_workload", "MapSpace", "evaluate", "map_layer", "map_network",
                 "Codesign", "load_hw_space", "LocalExecutor", "build_report"]:
        assert name in cosearch.__all__
