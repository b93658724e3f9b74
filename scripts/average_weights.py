"""Weight-space interpolation of two checkpoints of one network (WiSE-FT: Wortsman et al., "Robust fine-tuning of
zero-shot models", CVPR 2022, Eq. 1: ``theta = alpha * theta_fine_tuned + (1 - alpha) * theta_start``).

A network fine-tuned from another's weights stays in the same basin, so the line between the two keeps both
accuracies in part: issue 20 fine-tuned PropagationNet on every label source, and the mix with the weights it
started from keeps more of the start's accuracy on people's 300-W points. Floating-point tensors (weights and
BatchNorm statistics) are interpolated; integer buffers (BatchNorm's step count) come from ``fine_tuned``. The output
is ``fine_tuned``'s checkpoint with its ``model`` replaced (and no ``train_model``: it is not a run to resume), written
atomically; every file is read with ``weights_only=True``.

    .venv/bin/python scripts/average_weights.py FINE_TUNED.pt START.pt ALPHA OUT.pt
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from facealign.engine.checkpoint import atomic_torch_save, load_checkpoint, load_state_dict_file


def interpolate(fine_tuned: dict[str, torch.Tensor], start: dict[str, torch.Tensor], alpha: float) -> dict[str, torch.Tensor]:
    """``alpha * fine_tuned + (1 - alpha) * start`` for floating-point tensors, ``fine_tuned``'s for the rest."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    if fine_tuned.keys() != start.keys():
        diff = sorted(set(fine_tuned) ^ set(start))
        raise ValueError(f"the two networks differ: tensors in one only: {diff[:5]}{' ...' if len(diff) > 5 else ''}")
    out = {}
    for k, v in fine_tuned.items():
        if v.shape != start[k].shape:
            raise ValueError(f"the two networks differ: {k} is {tuple(v.shape)} in one and {tuple(start[k].shape)} in the other")
        out[k] = (alpha * v.double() + (1.0 - alpha) * start[k].double()).to(v.dtype) if v.is_floating_point() else v.clone()
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("fine_tuned", type=Path, help="trainer checkpoint (its model is interpolated; the rest is kept)")
    ap.add_argument("start", type=Path, help="the weights it started from: a checkpoint or a shipped .pt")
    ap.add_argument("alpha", type=float, help="weight of fine_tuned (1: fine_tuned itself, 0: start)")
    ap.add_argument("out", type=Path)
    args = ap.parse_args(argv)
    ckpt = load_checkpoint(args.fine_tuned)
    mixed = interpolate(ckpt["model"], load_state_dict_file(args.start), args.alpha)
    out = {k: v for k, v in ckpt.items() if k != "train_model"}
    out["model"] = mixed
    out["interpolation"] = {"fine_tuned": str(args.fine_tuned), "start": str(args.start), "alpha": args.alpha}
    atomic_torch_save(out, args.out)
    print(f"wrote {args.out}: {args.alpha:g} x {args.fine_tuned} + {1 - args.alpha:g} x {args.start}")


if __name__ == "__main__":
    main()
