"""numba's on-disk cache invalidated when a kernel's compiled-in modules change (cosearch._jit)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType, SimpleNamespace

from cosearch._jit import drop_stale_builds


def _fake(tmp_path: Path) -> tuple[SimpleNamespace, Path, ModuleType]:
    index = tmp_path / "kernel.f-1.py311.nbi"
    dispatcher = SimpleNamespace(_cache=SimpleNamespace(_cache_file=SimpleNamespace(_index_path=str(index))))
    dep = ModuleType("dep")
    dep.__file__ = str(tmp_path / "dep.py")
    Path(dep.__file__).write_text("x = 1\n")
    return dispatcher, index, dep


def test_a_build_is_dropped_exactly_when_a_dependency_changes(tmp_path: Path) -> None:
    dispatcher, index, dep = _fake(tmp_path)
    index.write_bytes(b"built before any stamp")
    drop_stale_builds([dispatcher], [dep])  # no stamp yet: the build's sources are unknown
    assert not index.exists() and Path(f"{index}.deps").is_file()
    index.write_bytes(b"built with x = 1")
    drop_stale_builds([dispatcher], [dep])
    assert index.read_bytes() == b"built with x = 1"
    Path(dep.__file__).write_text("x = 2\n")
    drop_stale_builds([dispatcher], [dep])
    assert not index.exists()
    index.write_bytes(b"built with x = 2")
    drop_stale_builds([dispatcher], [dep])
    assert index.exists()


def test_dispatchers_without_a_disk_cache_are_skipped(tmp_path: Path) -> None:
    _, _, dep = _fake(tmp_path)
    drop_stale_builds([object(), SimpleNamespace(_cache=None)], [dep])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dep.py"]


def test_the_model_kernel_is_stamped_with_its_compiled_in_modules() -> None:
    from cosearch.model import _kernel

    for dispatcher in (_kernel.evaluate_batch, _kernel._cost_rows):
        index = getattr(getattr(dispatcher._cache, "_cache_file", None), "_index_path", None)
        if index is not None:  # (no disk cache when numba's caching is off)
            assert Path(f"{index}.deps").is_file()
