"""``cosearch._io.write_atomic``: a whole new file or the old one, never half of one; a write that fails
is one :class:`CosearchError` naming the file, and leaves no temporary file behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from cosearch._io import write_atomic
from cosearch.errors import CosearchError


def test_writes_text_and_bytes_creating_parents(tmp_path: Path) -> None:
    write_atomic(tmp_path / "a" / "b.txt", "héllo\n", encoding="utf-8")
    write_atomic(tmp_path / "c.bin", b"\x00\xffdata")
    assert (tmp_path / "a" / "b.txt").read_text(encoding="utf-8") == "héllo\n"
    assert (tmp_path / "c.bin").read_bytes() == b"\x00\xffdata"
    write_atomic(tmp_path / "c.bin", b"new")
    assert (tmp_path / "c.bin").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "b.txt", "c.bin"]


@pytest.mark.parametrize("data", ["new text " * 100, b"new bytes " * 100], ids=["text", "bytes"])
def test_a_full_disk_keeps_the_old_file(tmp_path: Path, full_disk, data) -> None:
    path = tmp_path / "results.json"
    path.write_text("old")
    full_disk.room = 0
    with pytest.raises(CosearchError, match=r"results\.json: cannot write \(No space left on device\)$"):
        write_atomic(path, data)
    assert full_disk.failed == 1  # the write did happen, half of it
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_a_failed_rename_keeps_the_old_file(tmp_path: Path, monkeypatch) -> None:
    import cosearch._io as io_mod

    path = tmp_path / "best-arch.yaml"
    path.write_text("old")

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(io_mod.os, "replace", refuse)
    with pytest.raises(CosearchError, match=r"best-arch\.yaml: cannot write \(Permission denied\)"):
        write_atomic(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["best-arch.yaml"]


def test_a_directory_that_cannot_be_made(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(CosearchError, match="file/out/results.json: cannot write"):
        write_atomic(tmp_path / "file" / "out" / "results.json", "x")


def test_an_interrupt_while_writing_leaves_no_temporary_file(tmp_path: Path, monkeypatch) -> None:
    import pathlib

    path = tmp_path / "results.json"
    path.write_text("old")
    original = pathlib.Path.write_text

    def interrupted(self, data, *args, **kwargs):
        original(self, data[:3], *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(pathlib.Path, "write_text", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, "new text")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]
