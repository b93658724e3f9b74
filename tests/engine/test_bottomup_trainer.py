"""FoxNet through the training engine on a few real faces composed into canvases: exact resume,
checkpoint contents, multi-face metrics, and `facealign train` choosing the bottom-up trainer."""

import json
import math
from pathlib import Path

import pytest
import torch

from facealign.cli import main
from facealign.engine.bottomup_trainer import BottomUpTrainer
from facealign.engine.checkpoint import load_checkpoint
from facealign.engine.config import load_config

REPO = Path(__file__).resolve().parents[2]
FACES = (REPO / "../shared/data/faces").resolve()

# 12 faces at 1-2 a canvas: round(12 / 1.5) = 8 canvases, 2 iterations of 4 an epoch; 6 validation faces
# on round(6 / 1.5) = 4 canvases, plus dlib's 9 multi-face photos (43 faces), all at 64 px.
TINY = f"""
model = "foxnet_cpu_68"
model_kwargs = {{ input_size = 64, channels = 16, depth = 2 }}
epochs = 2
batch_size = 4
loss = "fox"
workers = 0
threads = 1
data_root = "{FACES}"
log_every = 0
[data]
dense_train = "train68.txt"
dense_val = "val68.txt"
multiface_val = "../samples/multiface/dlib_examples"
limit_train = 12
limit_val = 6
faces_per_canvas = [1, 2]
[optim]
optimizer = "adam"
lr = 1e-3
schedule = "cosine"
warmup_epochs = 0.5
"""

CANVAS_KEYS = {"precision", "recall", "f1", "nme", "fr", "auc", "missing"}


def _config(tmp_path, name="tiny", text=TINY, **over):
    p = tmp_path / f"{name}.toml"
    p.write_text(text)
    return load_config(p, out_dir=str(tmp_path / "runs"), **over)


def test_two_epochs_straight_equal_one_plus_resume_plus_one(tmp_path):
    straight = BottomUpTrainer(_config(tmp_path, "straight"))
    straight.fit()
    BottomUpTrainer(_config(tmp_path, "split")).fit(stop_after=1)
    assert load_checkpoint(tmp_path / "runs/split/last.pt")["epoch"] == 0
    resumed = BottomUpTrainer(_config(tmp_path, "split"))
    resumed.fit(resume=True)
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    oa, ob = straight.optimizer.state_dict()["state"], resumed.optimizer.state_dict()["state"]
    assert all(torch.equal(oa[i]["exp_avg_sq"], ob[i]["exp_avg_sq"]) for i in oa)
    assert resumed.scheduler.last_epoch == straight.scheduler.last_epoch == 2 * 2
    lines = (tmp_path / "runs/split/metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["epoch"] for x in lines] == [1, 2]
    assert json.loads(lines[1])["loss"] == pytest.approx(straight.history[1]["loss"])


def test_checkpoint_holds_everything_and_metrics_are_multiface(tmp_path):
    t = BottomUpTrainer(_config(tmp_path, "ck", epochs=1))
    assert (len(t.train_set), t.iters_per_epoch, len(t.val_set)) == (8, 2, 4)
    assert len(t.photos) == 9 and sum(len(f) for _, f in t.photos) == 43
    t.fit()
    ck = load_checkpoint(tmp_path / "runs/ck/last.pt")
    assert {"model", "optimizer", "scheduler", "rng", "epoch", "best", "history", "config", "model_name", "model_kwargs"} <= set(ck)
    assert ck["model_name"] == "foxnet_cpu_68" and ck["model_kwargs"] == {"input_size": 64, "channels": 16, "depth": 2}
    assert ck["config"]["data"]["faces_per_canvas"] == (1, 2)
    assert (tmp_path / "runs/ck/best.pt").is_file()
    assert not list((tmp_path / "runs/ck").glob("*.tmp"))  # atomic writes leave no temporaries
    row = json.loads((tmp_path / "runs/ck/metrics.jsonl").read_text().splitlines()[0])
    assert {"epoch", "lr", "loss", "segmentation", "fox", "seconds"} <= set(row)
    assert CANVAS_KEYS | {f"photo_{k}" for k in CANVAS_KEYS} <= set(row)
    assert all(0.0 <= row[k] <= 1.0 for k in ("precision", "recall", "f1", "photo_precision", "photo_recall", "photo_f1"))
    assert math.isfinite(row["loss"]) and row["loss"] == pytest.approx(row["segmentation"] + row["fox"], rel=1e-5)
    assert tuple(ck["best"]) == t.score(t.history[0])


def test_init_from_an_earlier_run_starts_from_its_weights(tmp_path, capsys):
    """A longer schedule can start from an earlier run's last.pt: every tensor is copied (same model and
    sizes), the optimiser and schedule start afresh, and the trainer says so in one line."""
    first = BottomUpTrainer(_config(tmp_path, "first", epochs=1))
    first.fit()
    source = tmp_path / "runs/first/last.pt"
    second = BottomUpTrainer(_config(tmp_path, "second", init_from=str(source)))
    trained, started = first.model.state_dict(), second.model.state_dict()
    assert trained.keys() == started.keys() and all(torch.equal(trained[k], started[k]) for k in trained)
    assert f"init_from {source}: {len(trained)} tensors copied, 0 kept as initialised" in capsys.readouterr().out
    assert second.scheduler.last_epoch == 0


def test_best_is_highest_f1_then_lowest_nme(tmp_path):
    t = BottomUpTrainer(_config(tmp_path, "score"))
    rows = [{"f1": 0.5, "nme": 9.0}, {"f1": 0.8, "nme": 12.0}, {"f1": 0.8, "nme": 10.0}, {"f1": 0.9, "nme": math.nan}]
    assert sorted(range(4), key=lambda i: t.score(rows[i])) == [3, 2, 1, 0]


def test_canvases_per_epoch_and_config_errors(tmp_path):
    t = BottomUpTrainer(_config(tmp_path, "many", TINY.replace("limit_val = 6", "limit_val = 6\ncanvases_per_epoch = 12")))
    assert (len(t.train_set), t.iters_per_epoch) == (12, 3)
    with pytest.raises(ValueError, match="output kind 'bottomup' trains with loss 'fox'; got loss='awing'"):
        BottomUpTrainer(_config(tmp_path, "awing", TINY.replace('loss = "fox"', 'loss = "awing"')))
    with pytest.raises(ValueError, match="fewer than batch_size 16"):
        BottomUpTrainer(_config(tmp_path, "big", TINY.replace("batch_size = 4", "batch_size = 16")))
    with pytest.raises(ValueError, match="trains bottom-up models"):
        top_down = TINY.replace('"foxnet_cpu_68"', '"hih_cpu_68"').replace("model_kwargs", "# model_kwargs")
        BottomUpTrainer(_config(tmp_path, "td", top_down))
    with pytest.raises(ValueError, match="ema_decay .* is a top-down Trainer setting"):
        BottomUpTrainer(_config(tmp_path, "ema", ema_decay=0.99))


def test_device_plumbing_on_cpu_and_a_missing_gpu_is_a_clear_error(tmp_path, monkeypatch, capsys):
    """The GPU code path run on the CPU: every training batch goes through to_device to the trainer's
    device (ignore masks and targets with it), the validation's outputs come back on the CPU, and
    device = "auto" without a GPU trains exactly as device = "cpu"; CUDA asked for and absent is
    train_device's error, from the trainer and from `facealign train --device cuda`."""
    import facealign.engine.bottomup_trainer as bt

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="sees no CUDA GPU"):
        BottomUpTrainer(_config(tmp_path, "gpu", TINY.replace("threads = 1", 'threads = 1\ndevice = "cuda"')))
    cfg = tmp_path / "cli.toml"
    cfg.write_text(TINY)
    assert main(["train", str(cfg), "--epochs", "1", "--out-dir", str(tmp_path / "runs"), "--device", "cuda:0"]) == 2
    assert "sees no CUDA GPU" in capsys.readouterr().err
    moved: list[tuple[torch.device, set[str]]] = []
    real = bt.to_device

    def spy(batch, device):
        moved.append((device, set(batch)))
        return real(batch, device)

    monkeypatch.setattr(bt, "to_device", spy)
    auto = BottomUpTrainer(_config(tmp_path, "auto", TINY.replace("threads = 1", 'threads = 1\ndevice = "auto"')))
    assert auto.device == torch.device("cpu") and all(p.device == auto.device for p in auto.model.parameters())
    row = auto.fit(stop_after=1)[0]
    assert len(moved) == auto.iters_per_epoch == 2
    assert all(d == auto.device and {"image", "segmentation", "instance"} <= keys for d, keys in moved)
    out = auto.validation_outputs()
    tensors = [t for seg_emb in out.canvases for t in seg_emb] + [t for o, _ in out.photos for t in o]
    assert len(tensors) == 2 * (4 + 9) and all(t.device.type == "cpu" for t in tensors)
    cpu = BottomUpTrainer(_config(tmp_path, "cpu"))
    assert cpu.fit(stop_after=1)[0]["loss"] == row["loss"] and cpu.history[0]["f1"] == row["f1"]


def test_facealign_train_dispatches_bottom_up_models(tmp_path, capsys):
    cfg = tmp_path / "cli.toml"
    cfg.write_text(TINY.replace("multiface_val", "# multiface_val"))
    assert main(["train", str(cfg), "--epochs", "1", "--out-dir", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert " f1=" in out and "best epoch 1: f1=" in out and "photo_f1" not in out
    ck = load_checkpoint(tmp_path / "runs/cli/last.pt")
    assert ck["epoch"] == 0 and ck["config"]["epochs"] == 1 and ck["model_name"] == "foxnet_cpu_68"


def _foxnet_threshold():
    from benchmarks import foxnet_threshold  # the benchmarks package (the repository root is on pytest's pythonpath)

    return foxnet_threshold


def test_validation_outputs_rescored_at_other_thresholds(tmp_path):
    """Ideal network outputs for the validation canvases (the targets as probabilities capped at 0.99, one-hot
    embeddings per face): every findable face is found at threshold 0.3 with the points in place, none at
    0.995; the sweep restores the codec and picks the best F1."""
    bench = _foxnet_threshold()
    t = BottomUpTrainer(_config(tmp_path, "sweep", TINY.replace('multiface_val = "../samples/multiface/dlib_examples"\n', "")))
    out = t.validation_outputs()
    assert len(out.canvases) == len(out.gt) == len(t.val_set) == 4 and out.photos == []
    assert t.validate(out) == pytest.approx(t.validate(), nan_ok=True)  # same outputs, same scores
    ideal = []
    for i in range(len(t.val_set)):
        item = t.val_set[i]
        logits = torch.logit(item["segmentation"].float().clamp(1e-6, 0.99))
        inst = item["instance"]
        ideal.append((logits, torch.stack([(inst == f).float() for f in range(int(item["num_faces"]) + 1)])))
    out.canvases = ideal
    assert sum(len(g) for g in out.gt) > 0
    rows = bench.sweep(t, [0.3, 0.995], [t.codec.bandwidth], out)
    assert (t.codec.threshold, len(rows)) == (0.3, 2)
    found, none = rows
    assert (found["precision"], found["recall"], found["f1"]) == (1.0, 1.0, 1.0)
    assert found["nme"] < 1.0  # sub-pixel decode of the targets' own peaks
    assert (none["recall"], none["f1"]) == (0.0, 0.0)
    assert bench.best_row(rows) is found
    assert "| 0.995 |" in bench.table(rows)
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\)"):
        bench.sweep(t, [1.5], [1.0], out)
    assert t.codec.threshold == 0.3


GROUPS = (REPO / "../shared/data/groups").resolve()
GROUP_PHOTOS = ["images/10001.jpg", "images/10010.jpg", "images/10011.jpg"]


def _group_labels(tmp_path) -> Path:
    """Pseudo-labels of 3 real group photos: a stand-in 68-point face (a diagonal) in each hand-drawn box
    but the last of each photo, which becomes an ignore region."""
    import numpy as np

    from facealign.data.group_photos import GroupPhoto, pseudo_labels_json, read_group_boxes

    boxes = read_group_boxes(GROUPS / "boxes.csv")
    t = np.linspace(0.2, 0.8, 68)[:, None]
    photos = []
    for name in GROUP_PHOTOS:
        b = boxes[name]
        faces = np.stack([bx[:2] + t * (bx[2:] - bx[:2]) for bx in b[:-1]])
        photos.append(GroupPhoto(name, faces, b[:-1], b[-1:]))
    p = tmp_path / "labels.json"
    p.write_text(pseudo_labels_json(photos, teacher="test"))
    (tmp_path / "val.txt").write_text("# held out\nimages/10011.jpg\n")
    return p


GROUP_TINY = TINY.replace('multiface_val = "../samples/multiface/dlib_examples"\n', "").replace(
    "[optim]", 'group_root = "../groups"\ngroup_crops_per_epoch = 4\ngroup_labels = "LABELS"\ngroup_val = "VAL"\n[optim]'
)


@pytest.mark.skipif(not (GROUPS / "boxes.csv").is_file(), reason="shared groups not present")
def test_real_group_photos_mixed_in_resumable_scored_and_loadable(tmp_path, capsys):
    from facealign.api import load_predictor
    from facealign.bottomup import FoxNetPredictor

    text = GROUP_TINY.replace("LABELS", str(_group_labels(tmp_path))).replace("VAL", str(tmp_path / "val.txt"))
    t = BottomUpTrainer(_config(tmp_path, "groups", text))
    # 8 canvases + 4 crops of the 2 training photos = 12 items, 3 iterations of 4; 1 held-out photo
    assert (len(t.train_set), t.iters_per_epoch, len(t.group_val)) == (12, 3, 1)
    val = t.group_val[0]
    assert val.path.name == "10011.jpg" and len(val.teacher) == len(val.boxes) and val.teacher[-1] is None
    assert all(f is not None for f in val.teacher[:-1])
    items = [t.train_set[i] for i in (8, 9)]  # crops of real photos: ignore cells, labelled faces
    assert all(it["ignore"].dtype == torch.bool for it in items) and any(it["ignore"].any() for it in items)
    straight = BottomUpTrainer(_config(tmp_path, "groups", text))
    straight.fit()
    split = BottomUpTrainer(_config(tmp_path, "gsplit", text))
    split.fit(stop_after=1)
    resumed = BottomUpTrainer(_config(tmp_path, "gsplit", text))
    resumed.fit(resume=True)
    for k, v in straight.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k
    row = straight.history[-1]
    assert {f"group_{k}" for k in CANVAS_KEYS} <= set(row) and 0.0 <= row["group_f1"] <= 1.0
    assert tuple(load_checkpoint(tmp_path / "runs/groups/best.pt")["best"]) == min(straight.score(r) for r in straight.history)
    # the checkpoint runs where users run models: load_predictor and `facealign detect --model`
    ckpt = tmp_path / "runs/groups/last.pt"
    pred = load_predictor(ckpt)
    assert isinstance(pred, FoxNetPredictor) and pred.input_size == 64
    assert isinstance(pred(GROUPS / GROUP_PHOTOS[0]), list)
    out = tmp_path / "det.jsonl"
    assert main(["detect", str(GROUPS / GROUP_PHOTOS[0]), "--model", str(ckpt), "--json", str(out)]) == 0
    line = json.loads(out.read_text().splitlines()[0])
    assert line["image"].endswith("10001.jpg") and isinstance(line["faces"], list)


@pytest.mark.skipif(not (GROUPS / "boxes.csv").is_file(), reason="shared groups not present")
def test_mosaics_are_off_by_default_and_only_appended_when_asked(tmp_path):
    from facealign.data.group_photos import GroupPhotoDataset
    from facealign.data.mosaic import MosaicDataset
    from facealign.data.multiface import MultiFaceDataset

    text = GROUP_TINY.replace("LABELS", str(_group_labels(tmp_path))).replace("VAL", str(tmp_path / "val.txt"))
    plain = BottomUpTrainer(_config(tmp_path, "plain", text))
    assert [type(s) for s in plain._epoch_sets] == [MultiFaceDataset, GroupPhotoDataset]
    mosaic_text = text.replace("[optim]", "mosaics_per_epoch = 4\nmosaic_tiles = [2, 3]\n[optim]")
    t = BottomUpTrainer(_config(tmp_path, "mosaic", mosaic_text))
    # 8 canvases + 4 crops + 4 mosaics = 16 items, 4 iterations of 4; the mosaics come last
    assert [type(s) for s in t._epoch_sets] == [MultiFaceDataset, GroupPhotoDataset, MosaicDataset]
    assert (len(t.train_set), t.iters_per_epoch) == (16, 4)
    mosaics = t._epoch_sets[2]
    assert [g.image for g in mosaics.groups] == GROUP_PHOTOS[:2]  # the held-out photo is never tiled
    for epoch in (0, 1):
        for trainer in (plain, t):
            for ds in trainer._epoch_sets:
                ds.set_epoch(epoch)
        for i in range(12):  # the items a config without mosaics has are the same items
            a, b = plain.train_set[i], t.train_set[i]
            assert [k for k in a if a[k].numpy().tobytes() != b[k].numpy().tobytes()] == [], (epoch, i)  # NaN padding too
    t.fit(stop_after=1)  # the steps train on them
    assert math.isfinite(t.history[0]["loss"])
