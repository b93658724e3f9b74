"""Write the graph of every shipped model into ``facealign/weights/``.

For each registered model whose PyTorch weights are shipped (``facealign/weights/<name>.pt``) and that
runs on aligned crops, two graphs with the model card in their ONNX metadata
(:func:`facealign.export.export_stage`): ``<name>.onnx`` and ``<name>_flip.onnx`` (the mirrored crop
merged in, Earp et al. Sec. 5.1). Each is checked against the same stage on PyTorch on the faces of
the 300-W sample photos before it is written; the largest point difference is printed. A shipped
bottom-up model (FoxNet) gets one graph, ``<name>.onnx`` (:func:`facealign.export.export_bottomup`),
checked on the letterboxed multi-face sample photos; the largest output difference is printed.
Run it again whenever a ``.pt`` changes (``tests/test_inference_package.py::test_shipped_graph_equals_pytorch`` fails until then)::

    PYTHONPATH=$PWD .venv/bin/python scripts/export_stages.py [--models NAME ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from facealign.bottomup import letterbox
from facealign.card import ModelCard, weights_path
from facealign.export import aligned_crops, export_bottomup, export_stage
from facealign.imageio import read_image
from facealign.models.registry import create_model, get_model_card, list_models

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "samples" / "300w"
#: Photos of many faces, the check input of a bottom-up model's graph.
GROUP_SAMPLES = SAMPLES.parent / "multiface" / "dlib_examples"


def shipped_top_down() -> list[str]:
    """Registered models with shipped weights that the Aligner runs (every output kind but bottom-up)."""
    return [n for n in list_models() if get_model_card(n).weights is not None and get_model_card(n).output != "bottomup"]


def shipped_bottom_up() -> list[str]:
    """Registered bottom-up models with shipped weights."""
    return [n for n in list_models() if get_model_card(n).weights is not None and get_model_card(n).output == "bottomup"]


def graph_name(model: str, flip_test: bool) -> str:
    return f"{model}{'_flip' if flip_test else ''}.onnx"


def check_images(folder: Path = SAMPLES) -> list:
    return [read_image(p) for p in sorted(folder.iterdir()) if p.suffix in (".jpg", ".png", ".ppm")]


def letterboxed(images: list, card: ModelCard) -> np.ndarray:
    """``images`` letterboxed into a bottom-up model's input, as its predictor does: ``(N, S, S, 3)`` uint8."""
    return np.stack([letterbox(rgb, card.input_size, fill=card.mean)[0] for rgb in images])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=None, help="default: every shipped model")
    args = ap.parse_args(argv)
    names = args.models or shipped_top_down() + shipped_bottom_up()
    images = check_images()
    print("| graph | MB | faces checked | max point diff (crop px) | max score diff |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in names:
        card = get_model_card(name)
        net = create_model(name, pretrained=True).eval()
        if card.output == "bottomup":
            photos = letterboxed(check_images(GROUP_SAMPLES), card)
            fox = export_bottomup(net, card, weights_path(graph_name(name, False)), photos=photos)
            diff = max(fox.max_segmentation_diff, fox.max_embedding_diff)
            print(f"| {fox.path.name} | {fox.size_bytes / 1e6:.2f} | {len(photos)} photos | {diff:.2e} (outputs) | - |")
            continue
        crops = aligned_crops(images, card.input_size)
        for flip in (False, True):
            rep = export_stage(net, card, weights_path(graph_name(name, flip)), crops=crops, flip_test=flip)
            print(f"| {rep.path.name} | {rep.size_bytes / 1e6:.2f} | {len(crops)} | {rep.max_point_diff:.2e} | {rep.max_score_diff:.2e} |")


if __name__ == "__main__":
    main()
