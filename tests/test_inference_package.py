"""The torch-free inference package: shipped landmark-stage graphs against PyTorch, start without torch,
``facealign export`` -> ``Aligner("x.onnx")``, execution providers, and the shipped detector file."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from facealign.api import Aligner, open_stage, shipped_graph
from facealign.card import weights_path
from facealign.cli import main
from facealign.export import aligned_crops, export_onnx
from facealign.imageio import read_image
from facealign.models.registry import create_model, get_model_card, list_models
from facealign.runtime import OnnxRunner, read_stage_graph
from facealign.torch_stage import TorchRunner, build_stage

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "../shared/data/samples"
PHOTO = SAMPLES / "300w/image_0010.png"
#: Largest |ONNX Runtime - PyTorch| of a shipped graph's points on the 300-W sample faces, in crop px
#: (measured by scripts/export_stages.py: 1.5e-5 px at most over the six graphs).
MAX_POINT_DIFF = 1e-3
SHIPPED = [n for n in list_models() if get_model_card(n).weights is not None and get_model_card(n).output != "bottomup"]


@pytest.fixture(scope="module")
def faces_128():
    images = [read_image(p) for p in sorted((SAMPLES / "300w").iterdir()) if p.suffix in (".jpg", ".png", ".ppm")]
    return aligned_crops(images, 128)


def test_every_shipped_top_down_model_has_both_graphs():
    assert set(SHIPPED) >= {"facealign_mnv2_050_68", "facealign_mnv2_050_5", "propnet_cpu_68_nolpm"}
    for name in SHIPPED:
        assert shipped_graph(name) == weights_path(f"{name}.onnx") and shipped_graph(name).is_file()
        assert shipped_graph(name, flip_test=True) == weights_path(f"{name}_flip.onnx")
    assert shipped_graph("hih_cpu_68") is None  # research model: no weights, no graph
    assert shipped_graph(REPO / "x.pt") is None


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_graph_equals_pytorch(name, flip, faces_128):
    """The shipped graph is the stage of the shipped .pt: same card, same points (max difference
    MAX_POINT_DIFF crop px on the 300-W sample faces). Fails when a .pt changed and
    scripts/export_stages.py was not run again."""
    card = get_model_card(name)
    graph = read_stage_graph(shipped_graph(name, flip_test=flip))
    assert graph.card == card and graph.flip_test is flip
    assert len(faces_128) >= 6 and card.input_size == 128
    net = create_model(name, pretrained=True).eval()
    ref_c, ref_s = TorchRunner(build_stage(net, card, flip_test=flip))(faces_128)
    got_c, got_s = graph.runner(faces_128)
    assert got_c.shape == (len(faces_128), card.num_points, 2)
    assert np.abs(got_c - ref_c).max() < MAX_POINT_DIFF
    assert np.abs(got_s - ref_s).max() < 1e-4


def test_import_and_aligner_never_import_torch():
    """A fresh process: the package, the default Aligner (with and without flip test) and its first
    landmarks run with torch made unimportable; a research model then says what to install."""
    code = f"""
import sys
sys.modules["torch"] = None  # any 'import torch' now raises ImportError
import facealign
faces = facealign.Aligner()({str(PHOTO)!r})
flip = facealign.Aligner(flip_test=True)({str(PHOTO)!r})
print(len(faces), len(flip), faces[0].points.shape, facealign.Aligner("facealign_mnv2_050_5").card.scheme)
try:
    facealign.Aligner("hih_cpu_68")
except ImportError as err:
    print("ERROR", err)
from facealign.cli import main
print("models", main(["models"]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "1 1 (68, 2) 5"
    assert lines[1].startswith("ERROR model 'hih_cpu_68' runs through PyTorch") and "pip install 'facealign[train]'" in lines[1]
    assert "the shipped graphs are ['facealign_mnv2_050_5', 'facealign_mnv2_050_68', 'propnet_cpu_68_nolpm']" in lines[1]
    assert lines[2] == "models 2" and "'facealign models' needs PyTorch: pip install 'facealign[train]'" in out.stderr
    # and without blocking: importing the package and building the Aligner leave torch out of sys.modules
    plain = subprocess.run(
        [sys.executable, "-c", "import sys, facealign; facealign.Aligner(); print('torch' in sys.modules)"],
        capture_output=True, text=True, timeout=120,
    )
    assert plain.stdout.strip() == "False", plain.stderr


#: The inference side: what an application imports to find faces and landmarks, and the package's CLI.
INFERENCE_MODULES = [
    "facealign", "facealign.api", "facealign.detector", "facealign.runtime", "facealign.imageio",
    "facealign.types", "facealign.video", "facealign.tracking", "facealign.detect_run", "facealign.cli",
    "facealign.card", "facealign.geometry", "facealign.landmarks", "facealign.face_motion", "facealign.smoothing",
    "facealign.headpose", "facealign.arcface", "facealign.bottomup", "facealign.codecs.bottomup",
]
#: The training and evaluation side (and torch) that the inference side must never pull in.
TRAINING_MODULES = ["torch", "facealign.engine", "facealign.losses", "facealign.models", "facealign.tasks", "facealign.evaluation",
    "facealign.data.build", "facealign.data.dataset", "facealign.data.records",
]


def _training_modules_after(imports: list[str], build_aligner: bool) -> list[str]:
    """Import ``imports`` (and build the default ``Aligner`` if asked) in a fresh process; return the
    training-side modules (a name in TRAINING_MODULES or below one) then in ``sys.modules``."""
    code = f"""
import importlib, json, sys
for name in {imports!r}:
    importlib.import_module(name)
if {build_aligner!r}:
    import facealign
    facealign.Aligner()
roots = {TRAINING_MODULES!r}
print(json.dumps(sorted(m for m in sys.modules if any(m == r or m.startswith(r + ".") for r in roots))))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_graph_inference_side_leaves_training_and_torch_out():
    """The architecture's one rule: the inference side imports neither training nor torch, so an
    application needs only numpy, OpenCV and ONNX Runtime."""
    assert _training_modules_after(INFERENCE_MODULES, build_aligner=True) == []


def test_import_graph_check_sees_a_training_import():
    """The check above can fail: the model registry is training side and is reported with torch."""
    found = _training_modules_after(["facealign.models.zoo"], build_aligner=False)
    assert {"torch", "facealign.models", "facealign.models.zoo"} <= set(found)
    # evaluation is built on the inference side (it imports the Aligner) and is reported, though torch-free
    assert _training_modules_after(["facealign.evaluation.model"], build_aligner=False) == [
        "facealign.evaluation", "facealign.evaluation.matching", "facealign.evaluation.model",
        "facealign.evaluation.multiface", "facealign.evaluation.samples",
    ]


def test_export_command_writes_a_graph_the_aligner_and_detect_load(ckpt, tmp_path, capsys):
    out = tmp_path / "tiny.onnx"
    assert main(["export", str(ckpt), str(out)]) == 0
    assert "max point difference" in capsys.readouterr().out
    graph = read_stage_graph(out)
    assert graph.card == get_model_card("facealign_mnv2_050_68", width=0.25, input_size=64, filters=16)
    photo = read_image(PHOTO)
    via_graph = Aligner(out)(photo, color="rgb")[0].points
    via_torch = Aligner(ckpt, backend="torch")(photo, color="rgb")[0].points
    np.testing.assert_allclose(via_graph, via_torch, atol=1e-2)
    with pytest.raises(ValueError, match=r"exported without flip test, but flip_test=True was asked for"):
        Aligner(out, flip_test=True)
    assert main(["export", str(ckpt), str(tmp_path / "flip.onnx"), "--flip-test"]) == 0
    assert Aligner(tmp_path / "flip.onnx", flip_test=True).flip_test
    jsonl = tmp_path / "o.jsonl"
    assert main(["detect", str(PHOTO), "--model", str(out), "--json", str(jsonl), "--quiet"]) == 0
    assert '"model": "facealign_mnv2_050_68"' in jsonl.read_text()


def test_onnx_files_that_are_not_stage_graphs_are_refused(tmp_path):
    net = create_model("facealign_mnv2_050_5", width=0.25, input_size=64, filters=16).eval()
    export_onnx(net, 64, tmp_path / "net.onnx")
    with pytest.raises(ValueError, match=r"net.onnx: expected a facealign landmark-stage graph with a model card"):
        Aligner(tmp_path / "net.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a graph")
    with pytest.raises(ValueError, match=r"junk.onnx: not a readable ONNX graph"):
        Aligner(tmp_path / "junk.onnx")
    with pytest.raises(FileNotFoundError, match="ONNX graph not found"):
        Aligner(tmp_path / "missing.onnx")
    with pytest.raises(ValueError, match=r"net.onnx is an ONNX graph: it runs with backend='onnx', not 'torch'"):
        Aligner(tmp_path / "net.onnx", backend="torch")


def test_cuda_without_onnxruntime_gpu_says_what_is_missing(monkeypatch):
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    with pytest.raises(RuntimeError, match=r"device='cuda' needs ONNX Runtime's CUDAExecutionProvider.*pip install onnxruntime-gpu"):
        Aligner(device="cuda")
    with pytest.raises(ValueError, match=r"device must be 'cpu', 'cuda' or 'cuda:N', got 'gpu'"):
        open_stage("facealign_mnv2_050_68", device="gpu")
    assert main(["detect", str(PHOTO), "--device", "cuda:1", "--quiet"]) == 2


def test_cuda_provider_is_asked_for_when_present(monkeypatch):
    """With onnxruntime-gpu's provider listed, the session is made with CUDA first, on the named GPU."""
    import onnxruntime

    from facealign.runtime import onnx_providers

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert onnx_providers("cuda:1") == [("CUDAExecutionProvider", {"device_id": 1}), "CPUExecutionProvider"]
    assert onnx_providers("cuda") == [("CUDAExecutionProvider", {"device_id": 0}), "CPUExecutionProvider"]
    assert onnx_providers("cpu") == ["CPUExecutionProvider"]


def test_the_detector_file_is_the_one_its_card_names():
    data = weights_path("retinaface_mnet025.onnx").read_bytes()
    card = weights_path("retinaface_mnet025.md").read_text()
    assert hashlib.sha256(data).hexdigest() in card and f"{len(data):,} bytes" in card
    assert "MIT" in card and isinstance(OnnxRunner(data), OnnxRunner)
