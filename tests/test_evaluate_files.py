"""facealign.evaluation.evaluate_files on the real lists in /work/shared/data (reader integration)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from facealign.evaluation import evaluate_files, format_table

DATA = Path("/work/shared/data")
FACES = DATA / "faces"
VAL5 = FACES / "val5.txt"
DLIB = DATA / "samples" / "multiface" / "dlib_examples"

pytestmark = pytest.mark.skipif(not VAL5.is_file(), reason="shared data not mounted")


def _val5_rows(n: int) -> list[tuple[str, np.ndarray]]:
    rows = []
    for line in VAL5.read_text().splitlines()[:n]:
        f = line.split()
        rows.append((f[0], np.array(f[1:], dtype=float).reshape(5, 2)))
    return rows


def _expected_plus_one_px(rows: list[tuple[str, np.ndarray]]) -> np.ndarray:
    # every point 1 px off in x -> per face NME = 1 / |right eye - left eye| (5 points: eye centres)
    return np.array([1.0 / np.linalg.norm(pts[1] - pts[0]) for _, pts in rows])


def test_points_list_plus_one_px_against_val5(tmp_path: Path) -> None:
    rows = _val5_rows(20)
    # PATHs relative to the list's folder, as in val5.txt; the list lives elsewhere (no images
    # there), so the faces match by the path relative to each list's folder.
    lines = [" ".join([path] + [f"{v:.2f}" for v in (pts + [1.0, 0.0]).ravel()]) for path, pts in rows]
    pred = tmp_path / "pred5.txt"
    pred.write_text("\n".join(lines) + "\n")
    png = tmp_path / "ced.png"
    r = evaluate_files(pred, VAL5, norm="interocular", threshold=0.1, ced_png=png)
    # Row 1, images/net_7876/0_1_0.jpg: eyes (138, 179) and (222, 142):
    # d = sqrt(84^2 + 37^2) = sqrt(8425) = 91.7878 -> NME = 1 / 91.7878 = 0.0108947
    assert r.nmes[0] == pytest.approx(0.0108947, rel=1e-5)
    np.testing.assert_allclose(r.nmes, _expected_plus_one_px(rows), rtol=1e-9)
    assert r.summary["count"] == 20 and r.summary["fr"] == 0.0
    assert (r.unmatched, r.unmatched_pred) == (580, 0)  # val5.txt has 600 faces
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert "580 ground-truth face(s) without a prediction" in format_table(r)


def test_jsonl_predictions_absolute_and_cwd_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _val5_rows(10)

    def line(image: str, pts: np.ndarray) -> str:
        face = {"box": [0, 0, 10, 10], "score": 1.0, "points": (pts + [1.0, 0.0]).tolist(), "scheme": "5"}
        return json.dumps({"image": image, "faces": [face]})

    absolute = tmp_path / "abs.jsonl"
    absolute.write_text("\n".join(line(str(FACES / p), pts) for p, pts in rows) + "\n")
    r = evaluate_files(absolute, VAL5, norm="interocular", threshold=0.1)
    np.testing.assert_allclose(r.nmes, _expected_plus_one_px(rows), rtol=1e-9)
    # `facealign detect --json` run from /work/shared/data writes paths relative to it
    relative = tmp_path / "rel.jsonl"
    relative.write_text("\n".join(line(f"faces/{p}", pts) for p, pts in rows) + "\n")
    monkeypatch.chdir(DATA)
    r = evaluate_files(relative, VAL5, norm="interocular", threshold=0.1)
    np.testing.assert_allclose(r.nmes, _expected_plus_one_px(rows), rtol=1e-9)
    assert r.unmatched == 590


@pytest.mark.skipif(not DLIB.is_dir(), reason="dlib imglab sample not present")
def test_multi_face_imglab_vs_shuffled_jsonl(tmp_path: Path) -> None:
    from facealign.data.readers import read_annotations

    gt = read_annotations(DLIB, check_images=False)
    by_image: dict[str, list[np.ndarray]] = {}
    for s in gt:
        by_image.setdefault(str(s.image_path), []).append(s.points)
    multi = [img for img, faces in by_image.items() if len(faces) > 1]
    assert multi, "the dlib sample holds group photos"
    dropped = multi[0]
    lines = []
    for img, faces in by_image.items():
        shifted = [(f + [0.0, 0.5]).tolist() for f in reversed(faces)]  # faces in the other order
        if img == dropped:
            shifted = shifted[1:]  # one face missed ...
            shifted.append((faces[0] + [5000.0, 5000.0]).tolist())  # ... and one false detection
        lines.append(json.dumps({"image": img, "faces": [{"points": p, "scheme": "68"} for p in shifted]}))
    pred = tmp_path / "pred.jsonl"
    pred.write_text("\n".join(lines) + "\n")
    r = evaluate_files(pred, DLIB, norm="interocular", threshold=0.1)
    assert (r.unmatched, r.unmatched_pred, r.summary["count"]) == (1, 1, len(gt) - 1)
    # every matched face is 0.5 px off in y -> NME = 0.5 / |p36 - p45| of that face
    gt_by_source = {s.source: s.points for s in gt}
    expected = [0.5 / np.linalg.norm(gt_by_source[src][36] - gt_by_source[src][45]) for src in r.sources]
    np.testing.assert_allclose(r.nmes, expected, rtol=1e-9)
