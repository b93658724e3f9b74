"""Copy a training checkpoint's weights into the package with a model card.

    .venv/bin/python scripts/ship_weights.py runs/mnv2_050_68/best.pt

Writes facealign/weights/<model>.pt (the state_dict alone, fp32) and facealign/weights/<model>.md
(the card: architecture, training data and terms, training settings, validation numbers from the
checkpoint's own log, measured with detector-aligned crops). Both atomically. Then, for top-down models,
the landmark-stage graphs facealign/weights/<model>.onnx and <model>_flip.onnx (scripts/export_stages.py).
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import torch

from facealign.atomic import atomic_write_bytes
from facealign.engine.checkpoint import load_checkpoint
from facealign.models.info import model_info
from facealign.models.registry import create_model, get_model_card

WEIGHTS = Path(__file__).resolve().parents[1] / "facealign/weights"
#: The validation faces of a training log on the full data (since the data repair of 2026-12-04).
VAL_NOTE = "`faces/val5.txt` (human 5 points, 600 faces) and `faces/val68.txt` (dlib teacher 68 points, 552 faces)"
#: Extra protocols of a training log (facealign/evaluation/protocols.py): (key prefix, column title).
PROTOCOL_COLUMNS = (("human68", "300w_human slice"), ("small", "small faces"), ("profile", "CFP profiles"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--notes", default="", help="extra markdown (e.g. benchmark tables) for the card")
    ap.add_argument("--trained-on", default="2 CPU cores", help="the hardware the run trained on, for the card")
    ap.add_argument("--training-data", default="", help="the card's training data (default: the model zoo card's)")
    ap.add_argument("--terms", default="", help="the card's licence / terms (default: the model zoo card's)")
    ap.add_argument("--val-note", default=VAL_NOTE, help="which faces the training log's validation rows are on")
    args = ap.parse_args()
    ck = load_checkpoint(args.checkpoint)
    name = ck["model_name"]
    if ck.get("model_kwargs"):
        raise SystemExit(f"{args.checkpoint}: built with non-default arguments {ck['model_kwargs']}; register it first")
    card = get_model_card(name)
    net = create_model(name)
    net.load_state_dict(ck["model"])
    buf = io.BytesIO()
    torch.save({k: v.float() for k, v in net.state_dict().items()}, buf)
    atomic_write_bytes(WEIGHTS / f"{name}.pt", buf.getvalue())

    cfg = ck["config"]
    hist = ck["history"]
    best = min(hist, key=lambda r: r["nme5"])
    shipped = int(ck["epoch"]) + 1  # the epoch of the checkpoint given (best.pt: the best; last.pt: the last)
    info = model_info(net.eval(), card.input_size)
    module = type(net).__module__.replace(".", "/") + ".py"
    if card.output in ("heatmap", "propagation"):
        output = f"{card.num_points} points, scheme {card.scheme}; {card.heatmap_size} x {card.heatmap_size} heatmaps, sigma {card.sigma}"
    else:
        output = f"{card.num_points} points, scheme {card.scheme}"
    extra = [(k, t) for k, t in PROTOCOL_COLUMNS if any(f"{k}_nme" in r for r in hist)]
    rows = "\n".join(
        f"| {r['epoch']} | {r['lr']:.2e} | {r['loss']:.4f} | {r['nme5']:.2f} | {r['fr5']:.2f} | {r['auc5']:.2f} | "
        + (f"{r['nme']:.2f} | {r['fr']:.2f} | {r['auc']:.2f} |" if "nme" in r else "- | - | - |")
        + "".join(f" {r[f'{k}_nme']:.2f} / {r[f'{k}_fr']:.1f} |" if f"{k}_nme" in r else " - |" for k, _ in extra)
        for r in hist
    )
    extra_head = "".join(f" {t} nme / fr |" for _, t in extra)
    extra_rule = " --- |" * len(extra)
    extra_note = (
        " Extra protocols (`facealign/evaluation/protocols.py`), NME % / FR %: the held-out 300w_human slice (people's 68 "
        "points, outer eye corners), the small-face copy of the val5 faces (80 px crops), the held-out CFP people "
        "(the corresponding points, face-size NME, failure at 5 %)." if extra else ""
    )
    started = f", started from {cfg['init_from']}'s weights" if cfg.get("init_from") else ""
    text = f"""# {name}

{card.description}

| | |
| --- | --- |
| architecture | {card.description} (`{module}`), output kind {card.output}, decoded with {card.decoder} |
| input | {card.input_size} x {card.input_size} RGB crop aligned on the detector's 5 points (`facealign.geometry.align_matrix`) |
| output | {output} |
| parameters | {info.params / 1e6:.3f} M ({info.size_mb:.2f} MiB fp32), {info.gmacs:.3f} GMACs |
| training data | {args.training_data or card.training_data} |
| licence / terms | {args.terms or card.licence} |
| trained with | `facealign train configs/{cfg['name']}.toml` ({cfg['epochs']} epochs, batch {cfg['batch_size']}, {cfg['loss']} loss, five-point loss weight {cfg['five_loss_weight']}, {cfg['optim']['optimizer']} lr {cfg['optim']['lr']} {cfg['optim']['schedule']}{started}) on {args.trained_on} |
| shipped epoch | {shipped} of {cfg['epochs']}{" (lowest validation NME on the human 5 points)" if shipped == best["epoch"] else f" (the lowest validation NME on the human 5 points was epoch {best['epoch']}'s)"} |

## Validation (from the training log)

{args.val_note},
crops aligned on RetinaFace's 5 points as at inference, flip test {'on' if cfg['flip_test'] else 'off'}.
nme5: NME (%) of the 5 points derived from the prediction against the human labels, normalised by the
eye-centre distance; nme: 68-point NME (%) against the teacher, normalised by the outer eye corners;
FR at 0.1, AUC at 0.1 (%).{extra_note}

| epoch | lr | loss | nme5 | fr5 | auc5 | nme68 | fr68 | auc68 |{extra_head}
| --- | --- | --- | --- | --- | --- | --- | --- | --- |{extra_rule}
{rows}

{args.notes}
"""
    atomic_write_bytes(WEIGHTS / f"{name}.md", text.encode())
    print(json.dumps({"weights": str(WEIGHTS / f'{name}.pt'), "card": str(WEIGHTS / f'{name}.md'), "shipped_epoch": shipped, "best": best}))
    if card.output != "bottomup":  # the torch-free landmark-stage graphs inference loads (issue 18)
        subprocess.run([sys.executable, str(Path(__file__).with_name("export_stages.py")), "--models", name], check=True)


if __name__ == "__main__":
    main()
