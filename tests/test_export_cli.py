"""ONNX export with its numeric check, and the small CLI commands."""

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from facealign.cli import main
from facealign.export import export_onnx
from facealign.models.registry import create_model

FACES = Path(__file__).resolve().parents[1] / "../shared/data/faces"


def test_export_writes_a_graph_that_matches_pytorch(tmp_path):
    torch.manual_seed(0)
    net = create_model("facealign_mnv2_050_5", width=0.25, input_size=64, filters=16).eval()
    rep = export_onnx(net, 64, tmp_path / "m.onnx")
    assert rep.max_abs_diff <= 1e-4 and rep.size_bytes == (tmp_path / "m.onnx").stat().st_size
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).standard_normal((3, 3, 64, 64)).astype(np.float32)  # dynamic batch
    out = sess.run(None, {"input": x})[0]
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    assert out.shape == (3, 5, 16, 16)
    np.testing.assert_allclose(out, ref, atol=1e-4)


def test_export_refuses_to_write_when_the_check_fails(tmp_path):
    net = create_model("facealign_mnv2_050_5", width=0.25, input_size=64, filters=16).eval()
    with pytest.raises(RuntimeError, match="differs from PyTorch"):
        export_onnx(net, 64, tmp_path / "bad.onnx", tolerance=-1.0)
    assert not (tmp_path / "bad.onnx").exists()


def test_models_and_info_commands(capsys):
    assert main(["models", "facealign_*"]) == 0
    out = capsys.readouterr().out
    assert "facealign_mnv2_050_68" in out and "facealign_mnv2_050_5" in out
    assert main(["info", "facealign_mnv2_050_5", "--input-size", "64"]) == 0
    out = capsys.readouterr().out
    assert "64x64" in out and "GMACs" in out


def test_eval_command_on_a_shifted_copy(tmp_path, capsys):
    # predictions = the first 10 rows of val68 with every x moved by +1 px
    rows = (FACES / "val68.txt").read_text().splitlines()[:10]
    lines = []
    for r in rows:
        p = r.split()
        v = np.asarray(p[1:], dtype=float).reshape(-1, 2)
        v[:, 0] += 1.0
        lines.append(str((FACES / p[0]).resolve()) + " " + " ".join(f"{a:.3f}" for a in v.ravel()))
    pred = tmp_path / "pred.txt"
    pred.write_text("\n".join(lines) + "\n")
    gt = tmp_path / "gt.txt"
    gt.write_text("\n".join(str((FACES / r.split()[0]).resolve()) + " " + " ".join(r.split()[1:]) for r in rows) + "\n")
    assert main(["eval", "--pred", str(pred), "--gt", str(gt)]) == 0
    out = capsys.readouterr().out
    # every point is off by exactly 1 px: NME = mean over faces of 1 / interocular distance
    iod = []
    for r in rows:
        v = np.asarray(r.split()[1:], dtype=float).reshape(-1, 2)
        iod.append(np.linalg.norm(v[36] - v[45]))
    expected = 100 * np.mean(1.0 / np.array(iod))
    assert f"{expected:.2f}" in out


def test_eval_requires_gt(capsys):
    assert main(["eval", "--pred", "x.txt"]) == 2
    assert capsys.readouterr().err == "facealign eval: error: --pred needs --gt (the annotation file to compare with)\n"


def test_eval_model_on_real_300w_files(ckpt, capsys):
    samples = Path(__file__).resolve().parents[1] / "../shared/data/samples/300w"
    rc = main(["eval", "--model", str(ckpt), "--data", str(samples), "--align", "labels", "--no-flip"])
    assert rc == 0
    out = capsys.readouterr().out
    import re

    assert re.search(r"^full\s+6\s", out, re.M)  # six faces, all matched when aligned on their labels
    assert "unmatched: 0 ground-truth" in out
