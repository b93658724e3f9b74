"""Loading a .pt never runs code: a crafted pickle is refused on every entry point, writing nothing.

The crafted file is a real trainer-checkpoint layout plus one object whose ``__reduce__`` opens a
marker file for writing; plain ``torch.load(weights_only=False)`` would create the marker.
"""

from pathlib import Path

import pytest
import torch

from facealign.api import Aligner
from facealign.cli import main
from facealign.engine.checkpoint import CheckpointError, load_checkpoint, load_torch_file


class _PlantsAFile:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _crafted(tmp_path: Path, ckpt: Path, name: str = "evil.pt") -> tuple[Path, Path]:
    marker = tmp_path / "PLANTED"
    state = torch.load(ckpt, weights_only=True)
    state["history"] = [_PlantsAFile(marker)]
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path, marker


def _one_error_line(err: str, *words: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in lines[0], lines[0]


def test_plain_pickle_loading_would_run_the_planted_code(tmp_path, ckpt):
    """The crafted file is a real attack: without weights_only it writes the marker."""
    path, marker = _crafted(tmp_path, ckpt)
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_load_torch_file_refuses_naming_the_file_and_the_object(tmp_path, ckpt):
    path, marker = _crafted(tmp_path, ckpt)
    with pytest.raises(CheckpointError, match=r"evil\.pt: refused, it holds the Python object .*open.*could run code"):
        load_checkpoint(path)
    assert not marker.exists()


def test_aligner_refuses(tmp_path, ckpt):
    path, marker = _crafted(tmp_path, ckpt)
    with pytest.raises(CheckpointError, match="evil.pt: refused"):
        Aligner(path, backend="torch")
    assert not marker.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["detect", "{img}", "--model", "{pt}", "--backend", "torch", "--quiet"],
        ["export", "{pt}", "{out}/m.onnx"],
        ["eval", "--model", "{pt}", "--data", "{data}"],
    ],
    ids=["detect", "export", "eval"],
)
def test_cli_refuses_with_one_line_and_status_1(tmp_path, ckpt, capsys, argv):
    path, marker = _crafted(tmp_path, ckpt)
    samples = Path(__file__).resolve().parents[1] / "../shared/data/samples/300w"
    args = [a.format(img=samples / "takeo.ppm", pt=path, out=tmp_path, data=samples) for a in argv]
    assert main(args) == 1
    _one_error_line(capsys.readouterr().err, "evil.pt", "refused", "could run code")
    assert not marker.exists() and not (tmp_path / "m.onnx").exists()


def test_corrupt_truncated_and_mismatched_checkpoints_are_one_line(tmp_path, ckpt, capsys):
    data = ckpt.read_bytes()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.pt").write_text("not a checkpoint at all\n")
    torch.save({"model": {"w": torch.zeros(3)}, "model_name": "facealign_mnv2_050_68"}, tmp_path / "other.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    expected = {
        "trunc.pt": "not a readable torch file",
        "text.pt": "refused, not a torch file",
        "other.pt": "its weights do not fit model facealign_mnv2_050_68",
        "list.pt": "not a facealign checkpoint",
    }
    for name, words in expected.items():
        assert main(["export", str(tmp_path / name), str(tmp_path / "m.onnx")]) == 1, name
        _one_error_line(capsys.readouterr().err, name, words)
    with pytest.raises(CheckpointError, match="trunc.pt: not a readable torch file"):
        load_torch_file(tmp_path / "trunc.pt")


def test_missing_checkpoint_says_no_such_file_not_unknown_model(tmp_path, capsys):
    photo = Path(__file__).resolve().parents[1] / "../shared/data/samples/300w/takeo.ppm"
    assert main(["detect", str(photo), "--model", str(tmp_path / "missing.pt"), "--quiet"]) == 2
    err = capsys.readouterr().err
    _one_error_line(err, "missing.pt: no such file")
    assert "unknown model" not in err


def test_checkpoints_of_the_older_layout_still_load_and_resume(tmp_path, ckpt):
    """Checkpoints written before the RNG state became tensors hold numpy's state tuple (an ndarray):
    numpy arrays are allowed, and restore_rng takes that layout."""
    import random

    import numpy as np

    from facealign.engine.checkpoint import restore_rng

    state = torch.load(ckpt, weights_only=True)
    np.random.seed(5)
    state["rng"] = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    torch.save(state, tmp_path / "old.pt")
    want = np.random.standard_normal(3)
    restore_rng(load_checkpoint(tmp_path / "old.pt")["rng"])
    np.testing.assert_array_equal(np.random.standard_normal(3), want)


def test_a_numpy_object_array_cannot_smuggle_code(tmp_path, ckpt):
    import numpy as np

    marker = tmp_path / "PLANTED"
    state = torch.load(ckpt, weights_only=True)
    state["history"] = np.array([_PlantsAFile(marker)], dtype=object)
    torch.save(state, tmp_path / "smuggled.pt")
    # refused at the array's object dtype, before any item is unpickled
    with pytest.raises(CheckpointError, match="smuggled.pt: refused, it holds the Python object numpy.dtypes.ObjectDType"):
        load_checkpoint(tmp_path / "smuggled.pt")
    assert not marker.exists()
