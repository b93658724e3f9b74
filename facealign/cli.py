"""The ``facealign`` command line: ``detect | train | eval | export | bench | models | info``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main"]


def _cmd_models(args: argparse.Namespace) -> int:
    from .models.zoo import get_model_card, list_models

    rows = []
    for name in list_models(args.pattern):
        card = get_model_card(name)
        shipped = "yes" if card.weights else "-"
        rows.append((name, card.scheme, f"{card.input_size}", shipped, card.description))
    w = max([len(r[0]) for r in rows] + [5])
    print(f"{'model':<{w}}  scheme  input  weights  description")
    for r in rows:
        print(f"{r[0]:<{w}}  {r[1]:<6}  {r[2]:<5}  {r[3]:<7}  {r[4]}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from .models.info import model_info
    from .models.zoo import create_model, get_model_card

    card = get_model_card(args.model)
    size = args.input_size or card.input_size
    model = create_model(args.model)
    info = model_info(model, size)
    print(f"model        {args.model}")
    print(f"scheme       {card.scheme} ({card.num_points} points)")
    print(f"input        {size}x{size}")
    print(f"parameters   {info.params / 1e6:.3f} M")
    print(f"size         {info.size_mb:.2f} MB (fp32)")
    print(f"GFLOPs       {info.gflops:.3f} (2 x multiply-adds); {info.gmacs:.3f} GMACs")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from .engine.bottomup_trainer import BottomUpTrainer
    from .engine.config import load_config
    from .engine.trainer import Trainer
    from .models.zoo import get_model_card

    overrides = {
        "epochs": args.epochs, "out_dir": args.out_dir, "workers": args.workers, "threads": args.threads,
        "device": args.device, "data_root": args.data_root,
    }
    cfg = load_config(args.config, **overrides)
    bottom_up = get_model_card(cfg.model).output == "bottomup"  # FoxNet: multi-face canvases, its own trainer
    trainer = (BottomUpTrainer if bottom_up else Trainer)(cfg, config_root=Path.cwd())
    trainer.fit(resume=args.resume, stop_after=args.stop_after)
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    if args.pred:
        from .evaluate import evaluate_files, format_table

        if not args.gt:
            raise SystemExit("facealign eval: --pred needs --gt (the annotation file to compare with)")
        result = evaluate_files(args.pred, args.gt, norm=args.norm, threshold=args.threshold, ced_png=args.ced)
        print(format_table(result))
        return 0
    if args.model:
        from .engine.evaluate_model import evaluate_model

        evaluate_model(args.model, args.data, norm=args.norm, threshold=args.threshold, flip_test=not args.no_flip,
                       align=args.align)
        return 0
    raise SystemExit("facealign eval: give --pred P --gt G, or --model CHECKPOINT --data LIST")


def _cmd_detect(args: argparse.Namespace) -> int:
    from .api import load_predictor
    from .detect_run import run_detect
    from .models.zoo import DEFAULT_MODEL

    if args.camera is not None:
        args.paths.append(args.camera)
    if not args.paths:
        raise ValueError("give photos, folders, videos or stream URLs, or --camera N")
    if args.max_frames is not None and args.max_frames < 1:
        raise ValueError(f"--max-frames must be >= 1, got {args.max_frames}")
    tracking = {k: getattr(args, k) for k in ("smoothing", "process_noise", "measurement_noise", "manoeuvre", "min_cutoff", "beta")}
    tracking = {k: v for k, v in tracking.items() if v is not None}  # None: FaceTracker's default
    aligner = load_predictor(args.model or DEFAULT_MODEL, backend=args.backend, threads=args.threads,
                             flip_test=args.flip_test, score_threshold=args.score_threshold)
    summary = run_detect(aligner, args.paths, json_out=args.json, draw_dir=args.draw, smooth=not args.no_smooth, progress=not args.quiet,
                         tracker_options=tracking, show=args.show, max_frames=args.max_frames)
    return 1 if summary.failures and not (summary.images or summary.frames) else 0


def _cmd_export(args: argparse.Namespace) -> int:
    from .api import _load_model
    from .export import export_onnx
    from .outputs import OUTPUT_NAMES

    card, net = _load_model(args.model)
    rep = export_onnx(net, card.input_size, args.output, names=OUTPUT_NAMES[card.output], tolerance=args.tolerance)
    print(f"wrote {rep.path} ({rep.size_bytes / 1e6:.2f} MB); ONNX Runtime vs PyTorch max |diff| = {rep.max_abs_diff:.2e}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from .bench import PARTS, landmark_latency_ms
    from .models.zoo import DEFAULT_MODEL

    model = args.model or DEFAULT_MODEL
    print(f"model {model}")
    print(f"{'backend':<8} {'threads':>7} {'network':>8} {'+decode':>8}  (ms per face)")
    for backend in args.backends:
        for th in args.threads:
            ms = [landmark_latency_ms(model, backend=backend, threads=th, repeats=args.repeats, part=p) for p in PARTS]
            print(f"{backend:<8} {th:>7} {ms[0]:>8.2f} {ms[1]:>8.2f}")
    return 0


def _add_video_arguments(d: argparse.ArgumentParser) -> None:
    """Video, camera and stream options of ``detect`` (defaults: facealign.tracking.FaceTracker's)."""
    v = d.add_argument_group("video, cameras and streams")
    v.add_argument("--camera", type=int, default=None, metavar="N", help="also read camera N (0 = the first)")
    v.add_argument("--show", action="store_true", help="preview the landmarks in a window (needs a display; q or Esc ends)")
    v.add_argument("--max-frames", type=int, default=None, metavar="N", help="stop each video / camera / stream after N frames")
    v.add_argument("--smoothing", default=None, choices=["kalman", "one-euro", "none"],
                   help="kalman: constant-velocity Kalman filter, no lag at constant speed (default); one-euro: Casiez et al. 2012")
    v.add_argument("--process-noise", type=float, default=None, help="Kalman: how fast a face's velocity may change (face sizes / s^1.5)")
    v.add_argument("--measurement-noise", type=float, default=None, help="Kalman: the landmarks' error per frame (face sizes)")
    v.add_argument("--manoeuvre", type=float, default=None,
                   help="Kalman: normalised innovation above which a face is taken to change its motion (inf: never)")
    v.add_argument("--min-cutoff", type=float, default=None, help="One-Euro: cut-off at rest (Hz)")
    v.add_argument("--beta", type=float, default=None, help="One-Euro: speed coefficient")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="facealign", description="2D facial landmark detection")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("detect", help="landmarks on photos, folders (recursive), videos, cameras and streams")
    d.add_argument("paths", nargs="*", help="photos, folders, video files, stream URLs (rtsp://, http://)")
    d.add_argument("--json", default=None, help="write one JSON line per image / video frame here")
    d.add_argument("--draw", default=None, help="write annotated images (and videos) into this folder")
    d.add_argument("--model", default=None, help="registered model name or checkpoint (default: facealign.DEFAULT_MODEL)")
    d.add_argument("--backend", default="onnx", choices=["onnx", "torch"])
    d.add_argument("--threads", type=int, default=1)
    d.add_argument("--flip-test", action="store_true", help="average with the mirrored crop (2x cost)")
    d.add_argument("--score-threshold", type=float, default=0.6, help="face detector score threshold")
    d.add_argument("--no-smooth", action="store_true", help="no smoothing of video landmarks (= --smoothing none)")
    _add_video_arguments(d)
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    d.set_defaults(func=_cmd_detect)

    x = sub.add_parser("export", help="export a model to ONNX, checked against PyTorch")
    x.add_argument("model")
    x.add_argument("output")
    x.add_argument("--tolerance", type=float, default=1e-4)
    x.set_defaults(func=_cmd_export)

    b = sub.add_parser("bench", help="landmark-stage latency per face")
    b.add_argument("model", nargs="?", default=None)
    b.add_argument("--backends", nargs="+", default=["onnx", "torch"])
    b.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    b.add_argument("--repeats", type=int, default=50)
    b.set_defaults(func=_cmd_bench)

    m = sub.add_parser("models", help="list registered models")
    m.add_argument("pattern", nargs="?", default=None, help="glob on model names, e.g. '*68'")
    m.set_defaults(func=_cmd_models)

    i = sub.add_parser("info", help="parameters, size and GFLOPs of a model")
    i.add_argument("model")
    i.add_argument("--input-size", type=int, default=None)
    i.set_defaults(func=_cmd_info)

    t = sub.add_parser("train", help="train from a TOML experiment config (configs/*.toml)")
    t.add_argument("config")
    t.add_argument("--resume", action="store_true", help="continue from OUT_DIR/NAME/last.pt if present")
    t.add_argument("--epochs", type=int, default=None)
    t.add_argument("--stop-after", type=int, default=None, help="stop after this many epochs of this call")
    t.add_argument("--out-dir", default=None)
    t.add_argument("--workers", type=int, default=None)
    t.add_argument("--threads", type=int, default=None)
    t.add_argument("--device", default=None, help="cpu, cuda, cuda:N or auto (the config's device by default)")
    t.add_argument("--data-root", default=None, help="the folder the config's face lists are in (its data_root by default)")
    t.set_defaults(func=_cmd_train)

    e = sub.add_parser("eval", help="NME / FR / AUC of predictions or of a model")
    e.add_argument("--pred", help="predictions: a points list or `facealign detect --json` output")
    e.add_argument("--gt", help="ground truth annotation file or folder in any supported format")
    e.add_argument("--model", help="a checkpoint (.pt) or registered model name")
    e.add_argument("--data", help="annotation list to evaluate the model on")
    e.add_argument("--norm", default="interocular", choices=["interocular", "interpupil", "box", "diagonal"])
    e.add_argument("--threshold", type=float, default=0.1)
    e.add_argument("--ced", default=None, help="write the CED plot to this PNG")
    e.add_argument("--no-flip", action="store_true", help="no flip-test averaging")
    e.add_argument("--align", default="detector", choices=["detector", "labels"],
                   help="crop faces from the detector's 5 points (as a user would) or from the labels'")
    e.set_defaults(func=_cmd_eval)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        print(f"facealign {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
