"""FoxNet through the user's entry points: ``facealign export`` of a FoxNet checkpoint, ``load_predictor``
and ``facealign detect --model`` on the checkpoint and on its graph (JSON lines, drawings, a folder with
a bad file), with a tiny seeded checkpoint (no FoxNet weights ship)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from facealign.api import load_predictor
from facealign.bottomup import FoxNetPredictor
from facealign.cli import main
from facealign.imageio import read_image

DLIB = Path(__file__).resolve().parents[2] / "shared" / "data" / "samples" / "multiface" / "dlib_examples"
PHOTOS = ["2008_002470.jpg", "2009_004587.jpg"]
#: A tiny FoxNet (64 px input, 16 channels, depth 2) saved as the trainer saves checkpoints.
TINY = dict(input_size=64, channels=16, depth=2)


@pytest.fixture(scope="module")
def fox_ckpt(seeded_checkpoint) -> Path:
    return seeded_checkpoint("foxnet_cpu_68", TINY)


@pytest.fixture(scope="module")
def fox_graph(fox_ckpt, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("foxgraph") / "fox.onnx"
    assert main(["export", str(fox_ckpt), str(out)]) == 0
    return out


def _points(faces) -> np.ndarray:
    return np.stack([f.points for f in faces]) if faces else np.zeros((0, 68, 2), np.float32)


def test_export_and_load_predictor_on_checkpoint_and_graph(fox_ckpt, fox_graph, tmp_path, capsys):
    main(["export", str(fox_ckpt), str(tmp_path / "again.onnx")])
    assert "bottom-up); ONNX Runtime vs PyTorch max difference" in capsys.readouterr().out
    assert main(["export", str(fox_ckpt), str(tmp_path / "flip.onnx"), "--flip-test"]) == 2
    assert "foxnet_cpu_68 is a bottom-up multi-face model: it has no flip test" in capsys.readouterr().err
    on_graph, on_onnx, on_torch = load_predictor(fox_graph), load_predictor(fox_ckpt), load_predictor(fox_ckpt, backend="torch")
    assert all(isinstance(p, FoxNetPredictor) for p in (on_graph, on_onnx, on_torch))
    assert [p.backend for p in (on_graph, on_onnx, on_torch)] == ["onnx", "onnx", "torch"]
    assert on_graph.card == on_onnx.card and on_graph.card.input_size == 64 and on_graph.card.heatmap_size == 16
    photo = read_image(DLIB / PHOTOS[0])
    faces = on_graph(photo, color="rgb")
    assert len(faces) >= 1 and faces[0].image_size == (photo.shape[1], photo.shape[0])
    for other in (on_onnx, on_torch):
        np.testing.assert_allclose(_points(other(photo, color="rgb")), _points(faces), atol=0.01)
    with pytest.raises(ValueError, match="foxnet_cpu_68 is a bottom-up multi-face model: it has no flip test"):
        load_predictor(fox_graph, flip_test=True)
    with pytest.raises(ValueError, match=r"fox.onnx is an ONNX graph: it runs with backend='onnx', not 'torch'"):
        load_predictor(fox_graph, backend="torch")


def test_detect_on_a_folder_with_the_checkpoint_and_its_graph(fox_ckpt, fox_graph, tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in PHOTOS:
        shutil.copy(DLIB / name, folder / name)
    (folder / "broken.jpg").write_bytes(b"not a jpeg")  # a folder run goes on past a bad file
    lines = {}
    for model in (fox_ckpt, fox_graph):
        jsonl, draw = tmp_path / f"{model.suffix[1:]}.jsonl", tmp_path / f"draw_{model.suffix[1:]}"
        status = main(["detect", str(folder), "--model", str(model), "--json", str(jsonl), "--draw", str(draw), "--quiet"])
        assert status == 1  # one input skipped
        assert "broken.jpg" in capsys.readouterr().err
        rows = [json.loads(x) for x in jsonl.read_text().splitlines()]
        assert sorted(Path(r["image"]).name for r in rows) == PHOTOS
        assert all(r["model"] == "foxnet_cpu_68" for r in rows)
        assert sorted(p.name for p in draw.rglob("*.jpg")) == [n.replace(".jpg", "_landmarks.jpg") for n in PHOTOS]
        lines[model.suffix] = rows
    assert sum(len(r["faces"]) for r in lines[".onnx"]) >= 1
    for a, b in zip(lines[".pt"], lines[".onnx"]):
        assert len(a["faces"]) == len(b["faces"])
        for fa, fb in zip(a["faces"], b["faces"]):
            np.testing.assert_allclose(np.array(fa["points"], dtype=float), np.array(fb["points"], dtype=float), atol=0.01)
