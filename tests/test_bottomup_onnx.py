"""FoxNet without torch: its stage exported to ONNX with its card, ONNX Runtime against PyTorch on a real
photo, the numpy decode on both, the graph file run with torch blocked, and what a wrong file says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from facealign.api import Aligner
from facealign.bottomup import BOTTOMUP_NAMES, FoxNetPredictor, letterbox, read_bottomup_graph
from facealign.card import weights_path
from facealign.export import export_bottomup
from facealign.imageio import read_image
from facealign.models.foxnet import FoxNetOutput
from facealign.models.registry import create_model, get_model_card
from facealign.torch_stage import BottomUpStage, TorchRunner

PHOTO = Path(__file__).resolve().parents[2] / "shared" / "data" / "samples" / "multiface" / "dlib_examples" / "2008_002470.jpg"
#: Largest |ONNX Runtime - PyTorch| of an output allowed (logits and embeddings are O(1); 1e-7 measured).
OUTPUT_TOL = 1e-4
#: Largest point difference of the decoded faces (input pixels of the photo). The untrained network's maps
#: have flat plateaus (nearest-neighbour upsampling), where 1e-7 output differences move a sub-pixel step:
#: 1e-3 px measured on this photo.
POINT_TOL = 0.01


@pytest.fixture(scope="module")
def foxnet():
    """The full-size foxnet_cpu_68, randomly initialised with seed 0, and its card."""
    torch.manual_seed(0)
    return create_model("foxnet_cpu_68").eval(), get_model_card("foxnet_cpu_68")


@pytest.fixture(scope="module")
def graph(foxnet, tmp_path_factory):
    """Its graph, checked by export_bottomup on the letterboxed real photo."""
    net, card = foxnet
    boxed, _ = letterbox(read_image(PHOTO), card.input_size, fill=card.mean)
    path = tmp_path_factory.mktemp("fox") / "fox.onnx"
    report = export_bottomup(net, card, path, photos=boxed[None])
    assert report.path == path and report.size_bytes == path.stat().st_size
    assert report.max_segmentation_diff < OUTPUT_TOL and report.max_embedding_diff < OUTPUT_TOL
    return path


def _same_faces(a, b) -> None:
    assert len(a) == len(b) >= 1
    for fa, fb in zip(a, b):
        assert np.array_equal(np.isnan(fa.points), np.isnan(fb.points))
        np.testing.assert_allclose(fa.points, fb.points, atol=POINT_TOL)
        np.testing.assert_allclose(fa.scores, fb.scores, atol=1e-5)


def test_graph_outputs_and_faces_equal_pytorch_on_a_real_photo(foxnet, graph):
    net, card = foxnet
    opened = read_bottomup_graph(graph)
    assert opened.card == card and opened.outputs == BOTTOMUP_NAMES == FoxNetOutput._fields
    photo = read_image(PHOTO)
    boxed, matrix = letterbox(photo, card.input_size, fill=card.mean)
    ref = TorchRunner(BottomUpStage(net, mean=card.mean, std=card.std))(boxed[None])
    got = opened.runner(boxed[None])
    assert [g.shape for g in got] == [(1, 68, 64, 64), (1, 8, 64, 64)] == [r.shape for r in ref]
    for g, r in zip(got, ref):
        assert np.abs(g - r).max() < OUTPUT_TOL
    # the same photo through the three paths: the graph file, PyTorch, the graph exported in memory
    on_graph = FoxNetPredictor(graph)
    on_torch = FoxNetPredictor(net, card=card)
    in_memory = FoxNetPredictor(net, card=card, backend="onnx")
    assert on_graph.card == card and on_graph.backend == "onnx" and on_torch.backend == "torch"
    (seg, emb), m = on_graph.forward(photo, color="rgb")
    assert isinstance(seg, np.ndarray) and np.array_equal(m, matrix)
    assert isinstance(on_torch.forward(photo, color="rgb")[0][0], torch.Tensor)  # what training's validation keeps
    faces = on_graph(photo, color="rgb")
    _same_faces(faces, on_torch(photo, color="rgb"))
    _same_faces(faces, in_memory(photo, color="rgb"))
    # the paper's grouping too
    paper = on_graph.codec.replace(grouping="mean_shift")
    torch_out, _ = on_torch.forward(photo, color="rgb")
    _same_faces(paper.decode(seg, emb), paper.decode(torch_out[0].numpy(), torch_out[1].numpy()))


def test_graph_runs_with_torch_blocked(graph, foxnet):
    """A fresh process where 'import torch' fails: the bottom-up modules import, the graph file runs, and
    its faces are those of this process's PyTorch run."""
    net, card = foxnet
    code = f"""
import sys
sys.modules["torch"] = None
import facealign.codecs.bottomup, facealign.codecs.anchor_grouping, facealign.codecs.mean_shift
from facealign.bottomup import FoxNetPredictor
faces = FoxNetPredictor({str(graph)!r})({str(PHOTO)!r})
import numpy as np
np.save(sys.stdout.buffer, np.stack([f.points for f in faces]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr.decode()
    import io

    points = np.load(io.BytesIO(out.stdout))
    want = np.stack([f.points for f in FoxNetPredictor(net, card=card)(read_image(PHOTO), color="rgb")])
    assert points.shape == want.shape
    np.testing.assert_allclose(points, want, atol=POINT_TOL)


def test_wrong_files_and_options_say_what_was_expected(graph, foxnet, tmp_path):
    net, card = foxnet
    with pytest.raises(ValueError, match=r"fox.onnx: model foxnet_cpu_68 is a bottom-up multi-face model .*use facealign.load_predictor"):
        Aligner(graph)
    top_down = weights_path("facealign_mnv2_050_68.onnx")
    with pytest.raises(ValueError, match=r"model facealign_mnv2_050_68 is a top-down landmark model, not a bottom-up one"):
        FoxNetPredictor(top_down)
    with pytest.raises(ValueError, match=r"top-down landmark model, not a bottom-up one"):
        FoxNetPredictor("facealign_mnv2_050_68")
    with pytest.raises(ValueError, match=r"an ONNX graph with its normalisation inside: it runs with backend='onnx' and no mean / std"):
        FoxNetPredictor(graph, mean=(0, 0, 0))
    with pytest.raises(FileNotFoundError, match="ONNX graph not found"):
        FoxNetPredictor(tmp_path / "missing.onnx")
    with pytest.raises(ValueError, match=r"check photos must be uint8 \(N, 256, 256, 3\), got uint8 \(1, 64, 64, 3\)"):
        export_bottomup(net, card, tmp_path / "x.onnx", photos=np.zeros((1, 64, 64, 3), np.uint8))
    with pytest.raises(RuntimeError, match=r"ONNX Runtime's outputs differ from PyTorch's by .* \(> tolerance 1e-12\); .*x.onnx not written"):
        export_bottomup(net, card, tmp_path / "x.onnx", tolerance=1e-12)
    assert not (tmp_path / "x.onnx").exists()
    with pytest.raises(ValueError, match=r"facealign_mnv2_050_68 is not a bottom-up model \(output 'heatmap'\)"):
        export_bottomup(net, get_model_card("facealign_mnv2_050_68"), tmp_path / "x.onnx")


def test_export_stages_ships_a_bottom_up_graph_that_load_predictor_finds(foxnet, tmp_path, monkeypatch, capsys):
    """scripts/export_stages.py on a bottom-up model with weights (here: the seeded network, written into
    a stand-in weights folder) writes <name>.onnx, checked on the multi-face samples; load_predictor of
    the name then runs that graph."""
    import importlib.util

    import facealign.api
    from facealign.api import load_predictor

    net, card = foxnet
    spec = importlib.util.spec_from_file_location("_script_export_stages", Path(__file__).resolve().parents[1] / "scripts" / "export_stages.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    monkeypatch.setattr(script, "create_model", lambda name, pretrained: net)
    monkeypatch.setattr(script, "weights_path", lambda name: tmp_path / name)
    monkeypatch.setattr(facealign.api, "weights_path", lambda name: tmp_path / name)
    script.main(["--models", "foxnet_cpu_68"])
    written, photos = tmp_path / "foxnet_cpu_68.onnx", len(script.check_images(script.GROUP_SAMPLES))
    assert f"| foxnet_cpu_68.onnx | {written.stat().st_size / 1e6:.2f} | {photos} photos |" in capsys.readouterr().out and photos >= 9
    predictor = load_predictor("foxnet_cpu_68")
    assert isinstance(predictor, FoxNetPredictor) and predictor.backend == "onnx" and predictor.card == card
    photo = read_image(PHOTO)
    _same_faces(predictor(photo, color="rgb"), FoxNetPredictor(net, card=card)(photo, color="rgb"))
