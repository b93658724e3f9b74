"""The ``facealign`` command line: ``detect | train | eval | export | bench | models | info``."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from typing import Any, Callable

from .api import FLIP_CHOICES, TURNED_YAW
from .errors import CheckpointError

__all__ = ["main"]

EXIT_STATUS = """exit status:
  0    every input was processed
  1    some inputs were skipped (the summary line names them), or the work failed (e.g. a refused checkpoint)
  2    usage error: a bad argument, a missing path, an output that cannot be written, nothing to process
  130  interrupted by Ctrl-C (SIGINT); 143 stopped by SIGTERM (detect keeps the JSON lines written so far)"""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``facealign detect: error: ...``) and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _int_range(lo: int, hi: int | None = None, *, what: str = "") -> Callable[[str], Any]:
    """An argparse ``type``: an integer in ``[lo, hi]`` (``hi=None``: no upper bound)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < lo or (hi is not None and value > hi):
            bound = f"an integer >= {lo}" if hi is None else f"an integer from {lo} to {hi}"
            raise argparse.ArgumentTypeError(f"expected {bound}{what}, got {value}")
        return value

    return parse


def _float_range(lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False) -> Callable[[str], Any]:
    """An argparse ``type``: a finite float in the interval from ``lo`` to ``hi`` (ends open or closed)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        below = value <= lo if lo_open else value < lo
        above = value >= hi if hi_open else value > hi
        if value != value or below or above:
            interval = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
            raise argparse.ArgumentTypeError(f"expected a number in {interval}, got {text}")
        return value

    return parse


def _cores() -> int:
    """CPU cores this process may use (its affinity mask where the platform has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


THREADS = _int_range(1, _cores(), what=f" (this machine has {_cores()} CPU cores)")


def _cmd_models(args: argparse.Namespace) -> int:
    from .models.registry import get_model_card, list_models

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
    from .models.registry import create_model, get_model_card

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
    from .models.registry import get_model_card

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
        from .evaluation import evaluate_files, format_table

        if not args.gt:
            raise ValueError("--pred needs --gt (the annotation file to compare with)")
        result = evaluate_files(args.pred, args.gt, norm=args.norm, threshold=args.threshold, ced_png=args.ced)
        print(format_table(result))
        return 0
    if args.model:
        from .evaluation.model import evaluate_model

        evaluate_model(args.model, args.data, norm=args.norm, threshold=args.threshold, flip_test=not args.no_flip,
                       align=args.align)
        return 0
    raise ValueError("give --pred P --gt G, or --model CHECKPOINT --data LIST")


def _tracker_options(args: argparse.Namespace) -> dict:
    """The ``FaceTracker`` keyword arguments given on the command line (an option left out: its default)."""
    names = ("smoothing", "process_noise", "measurement_noise", "manoeuvre", "min_cutoff", "beta", "landmark_pull")
    return {k: getattr(args, k) for k in names if getattr(args, k) is not None}


def _flip_arg(args: argparse.Namespace) -> bool | str | None:
    """``detect``'s ``--flip MODE`` / ``--flip-test`` as ``load_predictor(flip_test=...)`` (neither: None, the model's default)."""
    if args.flip_test and args.flip not in (None, "all"):
        raise ValueError(f"--flip-test is --flip all; it contradicts --flip {args.flip}")
    return True if args.flip_test else FLIP_CHOICES.get(args.flip)


def _cmd_detect_ray(args: argparse.Namespace) -> int:
    from .distributed import detect_on_ray

    if args.draw:
        raise ValueError("--draw is not available with --ray (drawings are for single-process runs)")
    s = detect_on_ray(args.paths, json_out=args.json, parquet_dir=args.parquet, address=args.ray or None,
                      model=args.model, backend=args.backend, threads=args.threads, flip_test=_flip_arg(args),
                      score_threshold=args.score_threshold, smooth=not args.no_smooth,
                      tracker_options=_tracker_options(args), workers=args.workers,
                      shard_size=args.shard_size, resume=args.resume, progress=not args.quiet)
    return 1 if s.failures else 0


def _cmd_detect(args: argparse.Namespace) -> int:
    if args.ray is not None:
        return _cmd_detect_ray(args)
    if args.parquet or args.resume:
        raise ValueError("--parquet and --resume belong to --ray runs: add --ray (a local instance) or --ray ADDRESS")
    from .api import load_predictor
    from .card import DEFAULT_MODEL
    from .detect_run import check_outputs, expand_inputs, run_detect

    if args.camera is not None:
        args.paths.append(args.camera)
    if not args.paths:
        raise ValueError("give photos, folders, videos or stream URLs, or --camera N")
    check_outputs(args.json, args.draw, args.csv)  # before the model is loaded: a bad target fails at once
    from .video import is_stream_url

    missing = [p for p in args.paths if not isinstance(p, int) and not is_stream_url(p) and not Path(p).exists()]
    if missing:  # a path named on the command line that is not there: a usage error, before any work
        raise FileNotFoundError(f"no such file or folder: {', '.join(map(str, missing))}")
    files = expand_inputs(args.paths)  # walked once: run_detect gets the list
    if not files:
        raise ValueError(f"no images found in {' '.join(map(str, args.paths))}")
    tracking = _tracker_options(args)
    model = args.model or DEFAULT_MODEL
    aligner = load_predictor(model, backend=args.backend, threads=args.threads, flip_test=_flip_arg(args),
                             score_threshold=args.score_threshold, device=args.device)
    name = getattr(getattr(aligner, "card", None), "name", None) or str(model)
    summary = run_detect(aligner, files, json_out=args.json, draw_dir=args.draw, smooth=not args.no_smooth,
                         progress=not args.quiet, max_pixels=args.max_pixels, model=name, csv_out=args.csv,
                         tracker_options=tracking, show=args.show, max_frames=args.max_frames)
    if summary.stopped_by:
        return 128 + int(getattr(signal, summary.stopped_by))
    return 1 if summary.failures else 0


def _cmd_export(args: argparse.Namespace) -> int:
    from .api import _load_model
    from .atomic import check_writable
    from .export import export_bottomup, export_onnx, export_stage
    from .tasks import task_class

    check_writable(args.output, what="output")  # before the model is loaded and exported
    card, net = _load_model(args.model)
    bottom_up = card.output == "bottomup"
    if bottom_up and args.flip_test:
        raise ValueError(f"model {card.name} is a bottom-up multi-face model: it has no flip test (drop --flip-test)")
    if args.network_only:
        rep = export_onnx(net, card.input_size, args.output, names=task_class(card.output).names, tolerance=args.tolerance)
        print(f"wrote {rep.path} ({rep.size_bytes / 1e6:.2f} MB); ONNX Runtime vs PyTorch max |diff| = {rep.max_abs_diff:.2e}")
        return 0
    if bottom_up:  # the whole-photo stage; its grouping runs in numpy after the graph
        rep = export_bottomup(net, card, args.output)
        print(
            f"wrote {rep.path} ({rep.size_bytes / 1e6:.2f} MB, {card.name}, bottom-up); ONNX Runtime vs PyTorch max difference "
            f"{max(rep.max_segmentation_diff, rep.max_embedding_diff):.2e} (segmentation logits, embeddings)"
        )
        return 0
    stage = export_stage(net, card, args.output, flip_test=args.flip_test)
    print(
        f"wrote {stage.path} ({stage.size_bytes / 1e6:.2f} MB, {card.name}, flip test {'on' if args.flip_test else 'off'}); "
        f"ONNX Runtime vs PyTorch max point difference {stage.max_point_diff:.2e} crop px"
    )
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from .bench import PARTS, landmark_latency_ms
    from .card import DEFAULT_MODEL

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
    v.add_argument("--camera", type=_int_range(0), default=None, metavar="N", help="also read camera N (0 = the first)")
    v.add_argument("--show", action="store_true", help="preview the landmarks in a window (needs a display; q or Esc ends)")
    v.add_argument("--max-frames", type=_int_range(1), default=None, metavar="N", help="stop each video / camera / stream after N frames")
    v.add_argument("--smoothing", default=None, choices=["kalman", "one-euro", "none"],
                   help="kalman: constant-velocity Kalman filter, no lag at constant speed (default); one-euro: Casiez et al. 2012")
    v.add_argument("--process-noise", type=float, default=None, help="Kalman: how fast a face's velocity may change (face sizes / s^1.5)")
    v.add_argument("--measurement-noise", type=float, default=None, help="Kalman: the landmarks' error per frame (face sizes)")
    v.add_argument("--manoeuvre", type=float, default=None,
                   help="Kalman: normalised innovation above which a face is taken to change its motion (inf: never)")
    v.add_argument("--min-cutoff", type=float, default=None, help="One-Euro: cut-off at rest (Hz)")
    v.add_argument("--beta", type=float, default=None, help="One-Euro: speed coefficient")
    v.add_argument("--landmark-pull", type=float, default=None, metavar="F",
                   help="each crop follows the face's optical flow, pulled this fraction of the way to the face's "
                        "landmarks (default 0.03; 1: on the landmarks alone, no optical flow)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="facealign", description="2D facial landmark detection", epilog=EXIT_STATUS,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("detect", help="landmarks on photos, folders (recursive), videos, cameras and streams",
                       epilog=EXIT_STATUS, formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("paths", nargs="*", help="photos, folders, video files, stream URLs (rtsp://, http://)")
    d.add_argument("--json", default=None, help="write one JSON line per image / video frame here")
    d.add_argument("--csv", default=None,
                   help="write one CSV row per face here (image, frame, time_ms, size, model, box, score, x0, y0, ...)")
    d.add_argument("--draw", default=None, help="write annotated images (and videos) into this folder")
    d.add_argument("--model", default=None,
                   help="registered model name, checkpoint (.pt) or exported graph (.onnx), top-down or bottom-up "
                   "(FoxNet: whole photos, no detector) (default: facealign.DEFAULT_MODEL)")
    d.add_argument("--backend", default="onnx", choices=["onnx", "torch"])
    d.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (ONNX Runtime's CUDA provider: needs onnxruntime-gpu)")
    d.add_argument("--threads", type=THREADS, default=1, help="CPU threads (1 to the machine's cores)")
    d.add_argument("--flip-test", action="store_true", help="average with the mirrored crop on every face (twice the cost); the same as --flip all")
    d.add_argument("--flip", default=None, choices=list(FLIP_CHOICES),
                   help=f"the flip test: off, on the faces turned over {TURNED_YAW:g} degrees (turned: the default of registered "
                        "models and checkpoints) or on all; left out, an .onnx graph runs as it was exported")
    d.add_argument("--score-threshold", type=_float_range(0.0, 1.0, hi_open=True), default=0.6, help="face detector score threshold")
    d.add_argument("--max-pixels", type=_int_range(1), default=None,
                   help="refuse image files of more pixels than this (default: facealign.imageio.MAX_PIXELS, "
                   "250 million, or the FACEALIGN_MAX_PIXELS environment variable)")
    d.add_argument("--no-smooth", action="store_true", help="no smoothing of video landmarks (= --smoothing none)")
    _add_video_arguments(d)
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    d.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="run on Ray: alone, an embedded local instance; with an address (HOST:PORT, auto), that "
                   "cluster. Put it after the paths, or write --ray=ADDRESS")
    d.add_argument("--parquet", default=None, metavar="DIR", help="(--ray) one Parquet file per shard in DIR")
    d.add_argument("--resume", action="store_true", help="(--ray) continue a stopped job, skipping complete shards")
    d.add_argument("--workers", type=_int_range(1), default=None, help="(--ray) predictors; default: cluster CPUs / --threads")
    d.add_argument("--shard-size", type=_int_range(1), default=500, help="(--ray) photos per output shard (and per retry)")
    d.set_defaults(func=_cmd_detect)

    x = sub.add_parser("export", help="export a model's landmark stage (or a bottom-up model's whole-photo stage) "
                       "with its card to ONNX, checked against PyTorch")
    x.add_argument("model", help="registered model name or training checkpoint (.pt)")
    x.add_argument("output", help="the .onnx file to write; load it with load_predictor(PATH) or detect --model PATH")
    x.add_argument("--flip-test", action="store_true", help="merge in the mirrored crop (2x cost)")
    x.add_argument("--network-only", action="store_true", help="the network alone: float input, raw outputs, no card")
    x.add_argument("--tolerance", type=_float_range(0.0, 1.0, lo_open=True), default=1e-4,
                   help="--network-only: largest output difference allowed")
    x.set_defaults(func=_cmd_export)

    b = sub.add_parser("bench", help="landmark-stage latency per face")
    b.add_argument("model", nargs="?", default=None)
    b.add_argument("--backends", nargs="+", default=["onnx", "torch"])
    b.add_argument("--threads", nargs="+", type=THREADS, default=[1, 2])
    b.add_argument("--repeats", type=_int_range(1), default=50)
    b.set_defaults(func=_cmd_bench)

    m = sub.add_parser("models", help="list registered models")
    m.add_argument("pattern", nargs="?", default=None, help="glob on model names, e.g. '*68'")
    m.set_defaults(func=_cmd_models)

    i = sub.add_parser("info", help="parameters, size and GFLOPs of a model")
    i.add_argument("model")
    i.add_argument("--input-size", type=_int_range(16, 4096), default=None)
    i.set_defaults(func=_cmd_info)

    t = sub.add_parser("train", help="train from a TOML experiment config (configs/*.toml)")
    t.add_argument("config")
    t.add_argument("--resume", action="store_true", help="continue from OUT_DIR/NAME/last.pt if present")
    t.add_argument("--epochs", type=_int_range(1), default=None)
    t.add_argument("--stop-after", type=_int_range(1), default=None, help="stop after this many epochs of this call")
    t.add_argument("--out-dir", default=None)
    t.add_argument("--workers", type=_int_range(0, 64), default=None)
    t.add_argument("--threads", type=THREADS, default=None)
    t.add_argument("--device", default=None, help="cpu, cuda, cuda:N or auto (the config's device by default)")
    t.add_argument("--data-root", default=None, help="the folder the config's face lists are in (its data_root by default)")
    t.set_defaults(func=_cmd_train)

    e = sub.add_parser("eval", help="NME / FR / AUC of predictions or of a model")
    e.add_argument("--pred", help="predictions: a points list or `facealign detect --json` output")
    e.add_argument("--gt", help="ground truth annotation file or folder in any supported format")
    e.add_argument("--model", help="a checkpoint (.pt) or registered model name")
    e.add_argument("--data", help="annotation list to evaluate the model on")
    e.add_argument("--norm", default="interocular", choices=["interocular", "interpupil", "box", "diagonal"])
    e.add_argument("--threshold", type=_float_range(0.0, 1.0, lo_open=True), default=0.1)
    e.add_argument("--ced", default=None, help="write the CED plot to this PNG")
    e.add_argument("--no-flip", action="store_true", help="no flip-test averaging")
    e.add_argument("--align", default="detector", choices=["detector", "labels"],
                   help="crop faces from the detector's 5 points (as a user would) or from the labels'")
    e.set_defaults(func=_cmd_eval)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit status (see ``EXIT_STATUS``). Errors are one line on stderr,
    never a traceback: usage errors (bad arguments, a missing path, an output that cannot be written) 2,
    failures of the work itself (a refused or corrupt checkpoint, an unreadable model) 1."""
    from .runtime import MissingProviderError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CheckpointError as exc:  # before ValueError, its base: the file is at fault, not the arguments
        return _fail(args, exc, 1)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, ValueError, KeyError) as exc:
        return _fail(args, exc, 2)
    except ImportError as exc:
        hint = ""
        if exc.name == "torch":  # a bare 'import torch' in a torch-free install
            hint = f"; 'facealign {args.command}' needs PyTorch: pip install 'facealign[train]'"
        return _fail(args, exc, 2, hint)
    except MissingProviderError as exc:
        return _fail(args, exc, 2)
    except (OSError, RuntimeError) as exc:
        return _fail(args, exc, 1)
    except KeyboardInterrupt:
        print(f"facealign {args.command}: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT


def _fail(args: argparse.Namespace, exc: BaseException, status: int, hint: str = "") -> int:
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    line = " ".join(str(text).split()) or type(exc).__name__
    print(f"facealign {args.command}: error: {line}{hint}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
