"""HIH's Table V at our scale: sub-pixel decoders and representations side by side on one backbone.

Lan et al. ("HIH: Towards More Accurate Face Alignment via Heatmap in Heatmap", 2022) compare, on one
hourglass, a baseline without sub-pixel recovery, WSM (second maximum), DARK, WOV (offset values), WOM
(offset maps) and HIH (Table V on WFLW, Table VI on 300W). Ours, on hih_cpu_68's network (128 px,
32 x 32 integer heatmaps, one 64-channel stack), from trained checkpoints:

=================  ==================================================================================
row                what decodes
=================  ==================================================================================
Baseline (argmax)  hih_cpu_68's integer maps alone, argmax (:func:`facealign.codecs.argmax_decode`)
WSM (quarter)      the same maps, a quarter cell toward the higher neighbour (the paper's WSM practice)
DARK               the same maps, DARK (:func:`facealign.codecs.dark_decode`)
WOV                hih_wov_cpu_68 (:class:`facealign.tasks.OffsetValueTask`)
WOM                hih_wom_cpu_68 (:class:`facealign.tasks.OffsetMapTask`)
HIH                hih_cpu_68 (integer + decimal heatmaps)
=================  ==================================================================================

Each checkpoint is validated exactly as training validates it (:meth:`facealign.engine.trainer.Trainer.validate`,
built from its config): NME / FR@0.1 / AUC@0.1 (%) on the teacher 68 points of ``faces/val68.txt`` and the
NME on the human 5 points of ``val5``, with the config's flip test. A missing checkpoint is skipped with a note.
``--slice human68`` scores the held-out ``300w_human`` faces instead (people's 68 points, outer-eye-corner
NME: the ``human68`` protocol of :mod:`facealign.evaluation.protocols`, which the config must name with
``data.human68_val``), and the diagnostics below read those crops; ``--hih-config`` etc. choose the configs
(issue 24: ``configs/experiments/hih_human_*.toml``).

Unlike the paper, which trains one baseline per decoder on sub-pixel Gaussian targets, the argmax /
quarter / DARK rows read HIH's integer maps, trained on Gaussians centred on the cell (HIH Eq. 1): they
show what each decoder recovers from those maps alone, with HIH's training.

Last, whether the sub-pixel parts learnt anything from the image: HIH's decimal branch
(:func:`decimal_diagnostic`: argmax-cell accuracy against chance, CSC against the input-blind floor) and
WOV's / WOM's offsets (:func:`offset_diagnostic`: mean error against the best constant answer).

    .venv/bin/python -m benchmarks.hih_table5 [--hih runs/hih_cpu_68/best.pt] [--wov ...] [--wom ...]
    .venv/bin/python -m benchmarks.hih_table5 --slice human68 --hih-config configs/experiments/hih_human_128.toml \
        --hih runs/hih_human_128/last.pt
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from facealign.codecs import HeatmapCodec
from facealign.engine.checkpoint import load_checkpoint
from facealign.engine.config import load_config
from facealign.engine.trainer import Trainer
from facealign.models import model_info


@dataclass(frozen=True)
class PaperRow:
    """The paper's numbers: Table V (WFLW full set, 1 HG: NME %, FR10 %, AUC10) and Table VI (300W "Val"
    NME %, GFLOPs of HIH_T's network)."""

    label: str
    nme: float
    fr: float
    auc: float
    nme_300w: float
    gflops: float


PAPER = {
    "argmax": PaperRow("Baseline", 4.53, 4.00, 0.568, 3.581, 6.67),
    "quarter": PaperRow("WSM", 4.35, 3.64, 0.586, 3.420, 6.67),
    "dark": PaperRow("DARK", 4.33, 3.16, 0.587, 3.404, 6.87),
    "wov": PaperRow("WOV", 4.34, 3.20, 0.585, 3.448, 6.91),
    "wom": PaperRow("WOM", 4.44, 3.28, 0.579, 3.640, 6.85),
    "hih": PaperRow("HIH", 4.27, 2.92, 0.593, 3.296, 6.93),
}
#: Which checkpoint each row reads and, for the integer-map rows, the heatmap decoder.
ROWS = (("argmax", "hih", "argmax"), ("quarter", "hih", "quarter"), ("dark", "hih", "dark"),
        ("wov", "wov", None), ("wom", "wom", None), ("hih", "hih", None))
CONFIGS = {"hih": "configs/hih_cpu_68.toml", "wov": "configs/hih_wov_cpu_68.toml", "wom": "configs/hih_wom_cpu_68.toml"}
#: The validation faces a table can score: the trainer's own (``val``) or the held-out human-68 slice.
SLICES = ("val", "human68")


@dataclass
class IntegerMapsDecoded:
    """An HIH task whose decoding reads the last stack's integer heatmaps alone with a heatmap decoder
    (flip test unchanged). Enough of :class:`facealign.tasks.CropTask` for ``Trainer.validate``."""

    task: Any
    codec: HeatmapCodec
    method: str

    def merge_flip(self, out: Any, mirrored: Any) -> Any:
        return self.task.merge_flip(out, mirrored)

    def targets(self, *args: Any, **kwargs: Any) -> Any:
        """HIH's own training targets: the datasets a validation builds (its protocols') make them."""
        return self.task.targets(*args, **kwargs)

    def decode(self, out: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return self.codec.decode(out.integer[:, -1], self.method)


def load_trainer(config: str, checkpoint: Path) -> Trainer:
    """The trainer of ``config`` with the checkpoint's weights loaded."""
    trainer = Trainer(load_config(config), config_root=Path.cwd())
    trainer.model.load_state_dict(load_checkpoint(checkpoint)["model"])
    return trainer


def load_trainers(checkpoints: dict[str, Path], configs: dict[str, str] = CONFIGS) -> dict[str, Trainer]:
    """The trainer of every checkpoint that exists (built from ``configs[key]``); a note for the others."""
    trainers: dict[str, Trainer] = {}
    for key, path in checkpoints.items():
        if path.is_file():
            trainers[key] = load_trainer(configs[key], path)
        else:
            print(f"note: no checkpoint {path}: the {key} rows are skipped (train with {configs[key]})")
    return trainers


def slice_dataset(trainer: Trainer, name: str) -> Any:
    """The crops of slice ``name``: the trainer's validation set (``val``) or the dataset of its protocol of that
    name (``human68``). Raises ValueError when the config defines no such protocol."""
    if name == "val":
        return trainer.val_set
    for p in trainer.protocols:
        if p.name == name:
            return p.dataset
    raise ValueError(
        f"{trainer.cfg.name}: no {name!r} slice in its config (expected data.{name}_val naming held-out faces); "
        f"it has {['val'] + [p.name for p in trainer.protocols]}"
    )


def evaluate(trainers: dict[str, Trainer]) -> list[dict[str, Any]]:
    """Validate every row whose trainer is there."""
    results = []
    for row, key, method in ROWS:
        if key not in trainers:
            continue
        trainer = trainers[key]
        own = trainer.task
        if method is not None:
            card = trainer.card
            codec = HeatmapCodec(card.input_size, card.heatmap_size, card.sigma, decoder=method)
            trainer.task = IntegerMapsDecoded(own, codec, method)
        try:
            metrics = trainer.validate()
        finally:
            trainer.task = own
        info = model_info(trainer.model, trainer.card.input_size)
        results.append({"row": row, "model": trainer.cfg.model, "metrics": metrics, "info": info})
    return results


def decimal_scores(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> dict[str, float]:
    """Decimal logits ``pred`` against target maps, both ``(N, K, cells)``, over the points with ``weights (N, K)
    > 0``: how often the argmax cell is the target's (``cell_right`` %, ``chance`` = 100 / cells), and the CSC
    (Eq. 5's KL over ``cells``, at T = 1 and T = 0.1) of ``pred`` (``csc_T*``) and of the best *input-blind*
    prediction, each landmark's marginal of the target softmaxes (``blind_T*``): a branch that ignores the image
    cannot go below that floor."""
    w = weights > 0
    cells = pred.shape[-1]
    hit = (pred.argmax(-1) == target.argmax(-1)) & w
    row = {"cell_right": 100 * float(hit.sum()) / max(float(w.sum()), 1.0), "chance": 100 / cells}
    for temp in (1.0, 0.1):
        log_p = torch.log_softmax(target / temp, -1)
        p = log_p.exp()
        marginal = (p * w[..., None]).sum(0) / w.sum(0).clamp(min=1)[:, None]  # (K, cells)
        kl_model = (p * (log_p - torch.log_softmax(pred / temp, -1))).sum(-1)
        kl_blind = (p * (log_p - marginal.clamp(min=1e-12).log())).sum(-1)
        row[f"csc_T{temp:g}"] = float(kl_model[w].mean()) / cells  # Eq. 5's 1 / (h_d w_d)
        row[f"blind_T{temp:g}"] = float(kl_blind[w].mean()) / cells
    return row


@torch.no_grad()
def _validation_outputs(
    trainer: Trainer, read: Any, target_key: str, slice_name: str = "val"
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``read(model output, batch)``, the batches' ``target_key`` targets and point weights over the crops of a
    trainer's slice (:func:`slice_dataset`, no flip), each concatenated over the batches."""
    trainer.model.eval()
    preds, targets, weights = [], [], []
    for batch in trainer._loader(slice_dataset(trainer, slice_name), train=False, epoch=0):
        preds.append(read(trainer.model(batch["image"]), batch))
        targets.append(batch[target_key])
        weights.append(batch["weights"])
    return torch.cat(preds), torch.cat(targets), torch.cat(weights)


def integer_cell_right(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``(N, K)`` bool: the argmax cell of the integer maps ``pred`` is the target's (both ``(N, K, h, w)``) at a
    point with ``weights > 0``. HIH's decimal target is a place *inside* the label's integer cell, so the decimal
    branch has something to read from the image only where the integer maps are right to the cell."""
    return (pred.flatten(2).argmax(-1) == target.flatten(2).argmax(-1)) & (weights > 0)


def decimal_diagnostic(trainer: Trainer, slice_name: str = "val") -> dict[str, float]:
    """:func:`decimal_scores` of an HIH trainer's model on the crops of a slice, over every point and (keys
    ``right_int_*``) over the points whose final integer map has the label's cell (:func:`integer_cell_right`,
    ``int_cell_right`` % of the points)."""
    def read(out: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:  # (B, K, 2 h w + cells): one pass
        return torch.cat([out.integer[:, -1].flatten(2), batch["integer"].flatten(2), out.decimal.flatten(2)], -1)

    pred, target, weights = _validation_outputs(trainer, read, "decimal", slice_name)
    cells = target.flatten(2).shape[-1]
    int_pred, int_target = pred[..., :-cells].chunk(2, dim=-1)
    dec_pred = pred[..., -cells:]
    right = integer_cell_right(int_pred, int_target, weights)
    row = decimal_scores(dec_pred, target.flatten(2), weights)
    row["int_cell_right"] = 100 * float(right.sum()) / max(float((weights > 0).sum()), 1.0)
    row.update({f"right_int_{k}": v for k, v in decimal_scores(dec_pred, target.flatten(2), right.float()).items()})
    return row


def offset_scores(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> dict[str, float]:
    """Offsets (fractions of a cell) against the true ones, both ``(N, K, 2)``, over the points with ``weights
    (N, K) > 0``: the mean absolute error of ``pred`` (``l1``) and of the best *input-blind* answer, each
    landmark's median true offset (``blind_l1``; 0.25 for offsets uniform in [0, 1))."""
    w = weights > 0
    blind = torch.stack([target[w[:, k], k].median(dim=0).values if w[:, k].any() else target.new_zeros(2)
                         for k in range(target.shape[1])])  # (K, 2)
    err = (pred - target).abs().mean(-1)
    err_blind = (target - blind).abs().mean(-1)
    return {"l1": float(err[w].mean()), "blind_l1": float(err_blind[w].mean())}


def offset_diagnostic(trainer: Trainer, slice_name: str = "val") -> dict[str, float]:
    """:func:`offset_scores` of a WOV or WOM trainer's model on the crops of a slice; WOM's maps are read at
    each point's true cell, as its loss reads them."""

    def read(out: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return out.offsets if hasattr(out, "offsets") else trainer.task.codec.read_maps(out.offset_maps, batch["cells"])

    return offset_scores(*_validation_outputs(trainer, read, "offsets", slice_name))


def print_table(results: list[dict[str, Any]], slice_name: str = "val") -> None:
    """The Table V rows; the 68-point columns read ``slice_name``'s metrics (``nme`` or ``human68_nme`` ...)."""
    pre = "" if slice_name == "val" else f"{slice_name}_"
    head = (f"| {'row':<17} | {'model':<14} | {'params M':>8} | {'GMACs':>5} | {'NME68':>5} | {'FR68':>6} | {'AUC68':>5} | "
            f"{'NME5':>5} | {'paper NME':>9} | {'FR10':>5} | {'AUC10':>5} | {'300W NME':>8} | {'GFLOPs':>6} |")
    print(head)
    print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
    for r in results:
        m, p, info = r["metrics"], PAPER[r["row"]], r["info"]
        label = f"{p.label} ({r['row']})" if r["row"] in ("argmax", "quarter") else p.label
        print(
            f"| {label:<17} | {r['model']:<14} | {info.params / 1e6:8.3f} | {info.gmacs:5.3f} | {m.get(pre + 'nme', float('nan')):5.2f} | "
            f"{m.get(pre + 'fr', float('nan')):6.2f} | {m.get(pre + 'auc', float('nan')) / 100:5.3f} | {m['nme5']:5.2f} | {p.nme:9.2f} | "
            f"{p.fr:5.2f} | {p.auc:5.3f} | {p.nme_300w:8.3f} | {p.gflops:6.2f} |"
        )
    faces = "faces/val68.txt teacher" if slice_name == "val" else "held-out 300w_human (configs/holdout_300w_human.txt) people's"
    print(f"\nours: {faces} 68 points (NME / FR@0.1 in %, AUC@0.1 as a fraction) and val5 human 5 points "
          "(NME %), flip test as configured; paper: Table V (WFLW full set, 1 HG) and Table VI (300W, HIH_T's GFLOPs = multiply-adds).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for key in CONFIGS:
        parser.add_argument(f"--{key}", type=Path, default=None,
                            help=f"checkpoint (default: runs/<its config's name>/best.pt)")
        parser.add_argument(f"--{key}-config", default=CONFIGS[key], help="its config (default: %(default)s)")
    parser.add_argument("--slice", choices=SLICES, default="val", help="faces to score and diagnose (default: %(default)s)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    configs = {key: getattr(args, f"{key}_config") for key in CONFIGS}
    checkpoints = {key: getattr(args, key) or Path(f"runs/{Path(configs[key]).stem}/best.pt") for key in CONFIGS}
    trainers = load_trainers(checkpoints, configs)
    print_table(evaluate(trainers), args.slice)
    if "hih" in trainers:
        d = decimal_diagnostic(trainers["hih"], args.slice)
        print(
            f"\nHIH decimal branch on the {args.slice} crops: argmax cell right {d['cell_right']:.1f} % (chance {d['chance']:.2f} %); "
            f"CSC at T = 1: {d['csc_T1']:.5f} (input-blind floor {d['blind_T1']:.5f}), at T = 0.1: {d['csc_T0.1']:.4f} "
            f"(floor {d['blind_T0.1']:.4f})\ninteger maps right to the cell on {d['int_cell_right']:.1f} % of the points; there, the "
            f"decimal argmax cell right {d['right_int_cell_right']:.1f} %, CSC at T = 1: {d['right_int_csc_T1']:.5f} (floor "
            f"{d['right_int_blind_T1']:.5f}), at T = 0.1: {d['right_int_csc_T0.1']:.4f} (floor {d['right_int_blind_T0.1']:.4f})"
        )
    for key in ("wov", "wom"):
        if key in trainers:
            o = offset_diagnostic(trainers[key], args.slice)
            print(f"{key.upper()} offsets on the {args.slice} crops: mean |error| {o['l1']:.4f} of a cell (input-blind floor {o['blind_l1']:.4f})")


if __name__ == "__main__":
    main()
