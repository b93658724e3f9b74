"""Atomic writes: whole files only, the user's umask, an existing file's mode kept, no temporaries left."""

import os
import stat

import pytest

from facealign.atomic import AtomicLines, atomic_write_bytes, check_writable


@pytest.fixture()
def umask():
    """Set a umask for one test and put the old one back."""
    saved = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(saved)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_files_get_the_umask_not_0600(tmp_path, umask):
    umask(0o022)
    assert _mode(atomic_write_bytes(tmp_path / "a.bin", b"x")) == 0o644
    umask(0o027)
    assert _mode(atomic_write_bytes(tmp_path / "b.bin", b"x")) == 0o640
    lines = AtomicLines(tmp_path / "c.jsonl")
    lines.write_line("{}")
    assert _mode(lines.commit()) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "b.bin", "c.jsonl"]


def test_a_replaced_file_keeps_its_mode(tmp_path, umask):
    umask(0o022)
    p = tmp_path / "kept.txt"
    p.write_text("old")
    os.chmod(p, 0o600)
    atomic_write_bytes(p, b"new")
    assert p.read_bytes() == b"new" and _mode(p) == 0o600


def test_discarded_lines_leave_nothing(tmp_path):
    lines = AtomicLines(tmp_path / "sub/o.jsonl")
    lines.write_line("1")
    assert len(list((tmp_path / "sub").iterdir())) == 1  # the hidden temporary only
    lines.discard()
    assert list((tmp_path / "sub").iterdir()) == []


def test_check_writable_messages(tmp_path):
    (tmp_path / "f").write_text("x")
    check_writable(tmp_path / "new/deeper/out.jsonl")  # missing folders are made later: fine
    with pytest.raises(ValueError, match=r"^output .*: is a folder; expected a file path$"):
        check_writable(tmp_path)
    with pytest.raises(ValueError, match=r"^--draw .*f: is a file; expected a folder$"):
        check_writable(tmp_path / "f", folder=True, what="--draw")
    with pytest.raises(ValueError, match=r"f/out\.jsonl: .*f is a file, not a folder$"):
        check_writable(tmp_path / "f/out.jsonl")
