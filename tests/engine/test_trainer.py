"""End-to-end training on a few real faces: exact resume, checkpoints, DDP on 2 CPU processes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from facealign.engine.checkpoint import load_checkpoint
from facealign.engine.config import load_config
from facealign.engine.trainer import Trainer
from facealign.tasks import flip_heatmaps

REPO = Path(__file__).resolve().parents[2]
FACES = (REPO / "../shared/data/faces").resolve()

TINY = f"""
model = "facealign_mnv2_050_68"
model_kwargs = {{ width = 0.25, input_size = 64, filters = 16 }}
epochs = 2
batch_size = 8
loss = "awing"
five_loss_weight = 0.02
workers = 0
threads = 1
data_root = "{FACES}"
log_every = 0
[data]
dense_train = "train68.txt"
five_train = "val5.txt"
dense_val = "val68.txt"
five_val = "val5.txt"
limit_train = 24
limit_val = 8
[optim]
lr = 1e-3
schedule = "cosine"
warmup_epochs = 0.5
"""


def _config(tmp_path, name="tiny", **over):
    p = tmp_path / f"{name}.toml"
    p.write_text(TINY)
    return load_config(p, out_dir=str(tmp_path / "runs"), **over)


def test_two_epochs_straight_equal_one_plus_resume_plus_one(tmp_path):
    straight = Trainer(_config(tmp_path, "straight"))
    straight.fit()
    split = Trainer(_config(tmp_path, "split"))
    split.fit(stop_after=1)
    assert load_checkpoint(tmp_path / "runs/split/last.pt")["epoch"] == 0
    resumed = Trainer(_config(tmp_path, "split"))
    resumed.fit(resume=True)
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # optimiser state and the metrics log continue too
    assert [r["epoch"] for r in resumed.history] == [1, 2]
    lines = (tmp_path / "runs/split/metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["epoch"] for x in lines] == [1, 2]
    assert json.loads(lines[1])["nme5"] == pytest.approx(straight.history[1]["nme5"])


def test_checkpoint_holds_everything_for_resume(tmp_path):
    t = Trainer(_config(tmp_path, "ck", epochs=1))
    t.fit()
    ck = load_checkpoint(tmp_path / "runs/ck/last.pt")
    assert {"model", "optimizer", "scheduler", "rng", "epoch", "config", "model_name"} <= set(ck)
    assert ck["model_name"] == "facealign_mnv2_050_68"
    assert (tmp_path / "runs/ck/best.pt").is_file()
    row = t.history[0]
    assert {"nme5", "fr5", "auc5", "nme", "fr", "auc", "loss"} <= set(row)
    assert not list((tmp_path / "runs/ck").glob("*.tmp"))  # atomic writes leave no temporaries


def test_moving_average_of_the_weights_is_validated_saved_and_resumed_exactly(tmp_path):
    t = Trainer(_config(tmp_path, "ema", epochs=1, ema_decay=0.9))
    seen = []  # the stepped weights after every optimiser step, to average by hand
    update = t.ema.update_parameters
    t.ema.update_parameters = lambda m: (seen.append({k: v.detach().clone() for k, v in m.state_dict().items()}), update(m))
    t.fit()
    assert len(seen) == 6  # 24 faces of each of the two sources, batches of 8
    ck = load_checkpoint(tmp_path / "runs/ema/last.pt")
    assert int(ck["ema_updates"]) == 6
    for key in ("head.final_conv.weight", "backbone.stem.1.running_mean"):  # a weight and a BatchNorm buffer
        expect = seen[0][key].float()  # the first update copies, then e = 0.9 e + 0.1 w
        for w in seen[1:]:
            expect = 0.9 * expect + 0.1 * w[key].float()
        assert torch.allclose(ck["model"][key].float(), expect, atol=1e-6), key
        assert torch.equal(ck["train_model"][key], seen[-1][key]), key
        assert not torch.allclose(ck["model"][key].float(), seen[-1][key].float()), key
    # validation scores the average: its points, not the stepped weights'
    averaged = t.predict(t.val_set)
    ema, t.ema = t.ema, None  # eval_model is then the stepped weights
    stepped = t.predict(t.val_set)
    t.ema = ema
    assert not np.allclose(averaged, stepped)
    from facealign.evaluation.protocols import score_points

    assert t.history[0]["nme5"] == pytest.approx(score_points("five", averaged, t.val_set.records, t.scheme)["nme"])
    # two epochs straight equal one + resume + one, the average and the stepped weights both
    straight = Trainer(_config(tmp_path, "ema2", ema_decay=0.9))
    straight.fit()
    Trainer(_config(tmp_path, "ema_split", ema_decay=0.9)).fit(stop_after=1)
    resumed = Trainer(_config(tmp_path, "ema_split", ema_decay=0.9))
    resumed.fit(resume=True)
    for a, b in ((straight.model, resumed.model), (straight.ema, resumed.ema)):
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys()
        for k in sa:
            assert torch.equal(sa[k], sb[k]), k
    # a checkpoint continues only with the setting it was written with
    with pytest.raises(ValueError, match="ema_decay = 0"):
        Trainer(_config(tmp_path, "ema_split")).resume(tmp_path / "runs/ema_split/last.pt")
    Trainer(_config(tmp_path, "plain", epochs=1)).fit()
    with pytest.raises(ValueError, match="without a moving average"):
        Trainer(_config(tmp_path, "plain", ema_decay=0.9)).resume(tmp_path / "runs/plain/last.pt")
    with pytest.raises(ValueError, match=r"ema_decay must be in \[0, 1\)"):
        Trainer(_config(tmp_path, "bad", ema_decay=1.0))


def test_a_failing_validation_keeps_the_epochs_training(tmp_path, monkeypatch, capsys):
    t = Trainer(_config(tmp_path, "fails"))

    def broken() -> dict:
        raise RuntimeError("validation broke")

    monkeypatch.setattr(t, "validate", broken)
    with pytest.raises(RuntimeError, match="validation broke"):
        t.fit()
    assert "validation failed after epoch 1" in capsys.readouterr().err
    ck = load_checkpoint(tmp_path / "runs/fails/last.pt")
    assert ck["epoch"] == 0 and ck["history"] == []
    trained = t.model.state_dict()
    for k, v in ck["model"].items():
        assert torch.equal(v, trained[k]), k
    resumed = Trainer(_config(tmp_path, "fails"))
    resumed.fit(resume=True)
    assert [r["epoch"] for r in resumed.history] == [2]


def test_flip_heatmaps_is_an_involution_and_reindexes():
    hm = torch.arange(2 * 5 * 3 * 4, dtype=torch.float32).view(2, 5, 3, 4)
    flip = (1, 0, 2, 4, 3)
    f = flip_heatmaps(hm, flip)
    # channel 0 of the result is channel 1 mirrored: its first column is channel 1's last column
    assert torch.equal(f[:, 0, :, 0], hm[:, 1, :, 3])
    assert torch.equal(flip_heatmaps(f, flip), hm)


def test_ddp_two_cpu_processes_with_gloo(tmp_path):
    cfg = tmp_path / "ddp.toml"
    cfg.write_text(TINY.replace("epochs = 2", "epochs = 1"))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "facealign.cli", "train", str(cfg), "--out-dir", str(tmp_path / "runs"),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ck = load_checkpoint(tmp_path / "runs/ddp/last.pt")
    assert ck["epoch"] == 0 and ck["world_size"] == 2
    assert "nme5=" in proc.stdout


@pytest.mark.parametrize(
    ("model", "kwargs", "loss", "parts", "five"),
    [
        ("hih_cpu_68", "{ channels = 16, depth = 2, branch_channels = 16, input_size = 64, decimal_size = 4 }", "hih", {"integer", "csc"}, 0.0),
        ("scc_cpu_68", "{ width = 8, branch_channels = [8, 16], hidden = 16, input_size = 64 }", "softwing", {"coords"}, 0.0),
        ("propnet_cpu_68", "{ channels = 16, depth = 2, input_size = 64 }", "focalwing", {"landmark", "boundary", "five"}, 0.02),
        ("hih_wov_cpu_68", "{ channels = 16, depth = 2, branch_channels = 16, input_size = 64, decimal_size = 4 }", "wov", {"integer", "offset"}, 0.0),
        ("hih_wom_cpu_68", "{ channels = 16, depth = 2, input_size = 64 }", "wom", {"integer", "offset"}, 0.0),
    ],
)
def test_every_top_down_kind_trains_and_resumes_through_the_same_engine(tmp_path, model, kwargs, loss, parts, five):
    """Each output kind trains with its own targets and loss, validates with its own decoder and
    flip merge, and resumes exactly; SCC gets its data-driven graph from the training shapes;
    PropagationNet takes the 5-point loss on its last stack's maps like the heatmap models."""
    text = (
        TINY.replace('model = "facealign_mnv2_050_68"', f'model = "{model}"')
        .replace("model_kwargs = { width = 0.25, input_size = 64, filters = 16 }", f"model_kwargs = {kwargs}")
        .replace('loss = "awing"', f'loss = "{loss}"')
        .replace("five_loss_weight = 0.02", f"five_loss_weight = {five}")
        .replace("limit_train = 24", "limit_train = 16")
    )
    runs = {}
    for name, calls in (("straight", [None]), ("split", [1, None])):
        (tmp_path / f"{name}.toml").write_text(text)
        for stop in calls:
            t = Trainer(load_config(tmp_path / f"{name}.toml", out_dir=str(tmp_path / "runs")))
            t.fit(resume=True, stop_after=stop)
        runs[name] = t
    row = runs["straight"].history[-1]
    assert parts <= set(row) and all(torch.isfinite(torch.tensor(row[p])) for p in parts)
    assert {"nme5", "nme"} <= set(row)
    a, b = runs["straight"].model.state_dict(), runs["split"].model.state_dict()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    if model.startswith("scc"):
        adj = runs["straight"].model.adjacency
        assert runs["straight"].model.adjacency_fitted and (adj.sum(axis=1) == 4).all()  # k + 1 = 4 per row


@pytest.mark.parametrize(("model", "loss"), [("hih_cpu_68", "hih"), ("scc_cpu_68", "softwing")])
def test_five_point_loss_is_refused_where_no_map_is_centred_on_the_points(tmp_path, model, loss):
    """HIH's integer maps sit on the floor cell (Eq. 1) and SCC has no maps: no soft-argmax 5-point loss."""
    cfg = _config(tmp_path, model=model, model_kwargs={}, loss=loss)
    with pytest.raises(ValueError, match="five_loss_weight > 0 needs maps centred on the points"):
        Trainer(cfg)


def test_a_bottom_up_model_is_refused_with_the_trainer_to_use(tmp_path):
    """FoxNet's task is not a crop task: the top-down trainer says so before reading any data."""
    cfg = _config(tmp_path, model="foxnet_cpu_68", model_kwargs={}, loss="fox", five_loss_weight=0.0)
    with pytest.raises(ValueError, match="Trainer trains top-down models; foxnet_cpu_68 returns 'bottomup' outputs"):
        Trainer(cfg)


def test_pose_balancing_oversamples_the_training_faces(tmp_path):
    from facealign.data.balance import pose_bins

    plain = Trainer(_config(tmp_path, "plain"))
    text = TINY.replace("limit_val = 8", "limit_val = 8\npose_balance_bins = 3")
    (tmp_path / "pdb.toml").write_text(text)
    pdb = Trainer(load_config(tmp_path / "pdb.toml", out_dir=str(tmp_path / "runs")))
    assert sorted(plain.train_indices.tolist()) == list(range(len(plain.train_set)))
    index, shapes = pdb.train_shapes()
    bins = pose_bins(shapes, 3)
    balanced = pdb.train_indices[: len(pdb.train_indices) - (len(pdb.train_set) - len(index))]
    per_bin = np.bincount(bins[np.searchsorted(index, balanced)], minlength=3)
    assert len(set(per_bin[per_bin > 0].tolist())) == 1 and len(pdb.train_indices) >= len(pdb.train_set)
    assert pdb.iters_per_epoch == len(pdb.train_indices) // 8


def test_train_align_on_labels_leaves_validation_on_the_detector_points(tmp_path):
    """``align_points`` (detector 5 points per photo) align both sets by default; with
    ``train_align = "labels"`` the training crops take the labels' 5 points and validation keeps the
    detector's."""
    train_rows = (FACES / "train68.txt").read_text().split("\n")[:24]
    val_rows = (FACES / "val68.txt").read_text().split("\n")[:8]
    fake = {row.split()[0]: [[10.0 + i, 20.0], [30.0, 20.0], [20.0, 30.0], [12.0, 40.0], [28.0, 40.0]]
            for i, row in enumerate(train_rows + val_rows)}
    table = tmp_path / "five.json"
    table.write_text(json.dumps(fake))
    text = TINY.replace("limit_val = 8", f'limit_val = 8\nalign_points = "{table}"')
    for align, expect_train_detector in (("detector", True), ("labels", False)):
        (tmp_path / f"{align}.toml").write_text(text.replace("[data]", f'[data]\ntrain_align = "{align}"'))
        tr = Trainer(load_config(tmp_path / f"{align}.toml", out_dir=str(tmp_path / "runs")))
        rec = tr.train_set.records[0]
        np.testing.assert_array_equal(tr.val_set.records[0].align, fake[tr.faces.key(tr.val_set.records[0].image_path)])
        assert (rec.align is not None) == expect_train_detector
        if not expect_train_detector:  # the labels' five points (human five where the face has them)
            assert np.isfinite(tr.train_set.align_points(rec)).all()
    with pytest.raises(ValueError, match=r"data.train_align must be one of \('detector', 'labels'\), got 'crops'"):
        (tmp_path / "bad.toml").write_text(text.replace("[data]", '[data]\ntrain_align = "crops"'))
        load_config(tmp_path / "bad.toml")


def test_channels_last_is_the_same_training_step_in_another_layout(tmp_path):
    """``channels_last`` (the default) only changes the memory layout: from the same seed, one batch gives
    the same loss and gradients as the plain NCHW run. Checked in float64, where the two layouts' different
    summation orders leave ~1e-15 (in float32 BatchNorm's backward amplifies that round-off to a few % of
    small gradients, and Adam runs then drift apart as runs on different thread counts do)."""
    nhwc = Trainer(_config(tmp_path, "nhwc"))
    nchw = Trainer(_config(tmp_path, "nchw", channels_last=False))
    conv = next(m for m in nhwc.model.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size != (1, 1))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last) and not conv.weight.is_contiguous()
    assert all(p.is_contiguous() for p in nchw.model.parameters())
    batch = next(iter(nhwc._loader(nhwc.val_set, train=False, epoch=0)))
    batch = {k: v.double() if v.is_floating_point() else v for k, v in batch.items()}
    losses = []
    for t in (nhwc, nchw):
        t.model.double().train()
        loss, _ = t._step_loss(batch)
        loss.backward()
        losses.append(float(loss.detach()))
    assert losses[0] == pytest.approx(losses[1], rel=1e-12)
    grads = dict(nchw.model.named_parameters())
    scale = max(float(p.grad.abs().max()) for p in nchw.model.parameters())
    for name, p in nhwc.model.named_parameters():
        torch.testing.assert_close(p.grad, grads[name].grad, rtol=1e-9, atol=1e-12 * scale, msg=name)


def test_init_from_copies_every_matching_tensor_and_keeps_the_new_output_layer(tmp_path):
    """A 68-point model started from a 5-point checkpoint of the same backbone and head: all but the
    final convolution (5 vs 68 channels) come from the source; the final one keeps its initialisation."""
    from facealign.engine.checkpoint import init_weights
    from facealign.models.registry import create_model

    kw = dict(width=0.25, input_size=64, filters=16)
    torch.manual_seed(1)
    five = create_model("facealign_mnv2_050_5", **kw)
    src = tmp_path / "five.pt"
    torch.save({"model": five.state_dict(), "epoch": 3}, src)  # a trainer checkpoint's layout
    torch.manual_seed(2)
    dense = create_model("facealign_mnv2_050_68", **kw)
    fresh = {k: v.clone() for k, v in dense.state_dict().items()}
    copied, kept = init_weights(dense, src)
    assert kept == ["head.final_conv.weight", "head.final_conv.bias"]
    assert len(copied) == len(fresh) - 2
    after, source = dense.state_dict(), five.state_dict()
    for k in copied:
        assert torch.equal(after[k], source[k]), k
    for k in kept:
        assert torch.equal(after[k], fresh[k]), k
    # a bare state_dict works the same; a source with nothing in common is refused, naming itself
    torch.save(five.state_dict(), tmp_path / "bare.pt")
    assert init_weights(create_model("facealign_mnv2_050_68", **kw), tmp_path / "bare.pt")[0] == copied
    torch.save({"other.weight": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="other.pt: none of its 1 tensors matches"):
        init_weights(dense, tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        init_weights(dense, tmp_path / "missing.pt")


def test_trainer_starts_from_init_from_and_resume_still_wins(tmp_path):
    from facealign.models.registry import create_model

    five = create_model("facealign_mnv2_050_5", width=0.25, input_size=64, filters=16)
    torch.save(five.state_dict(), tmp_path / "five.pt")
    cfg = _config(tmp_path, "ft", init_from=str(tmp_path / "five.pt"))
    t = Trainer(cfg)
    w = next(iter(five.state_dict()))  # the stem convolution
    assert torch.equal(t.model.state_dict()[w], five.state_dict()[w])
    t.fit(stop_after=1)
    trained = {k: v.clone() for k, v in t.model.state_dict().items()}
    resumed = Trainer(cfg)
    resumed.resume(tmp_path / "runs/ft/last.pt")  # the checkpoint, not init_from, is where a resumed run stands
    for k, v in resumed.model.state_dict().items():
        assert torch.equal(v, trained[k]), k
    assert not torch.equal(trained[w], five.state_dict()[w])


def test_device_names_resolve_and_a_missing_gpu_is_a_clear_error(tmp_path, monkeypatch):
    from facealign.engine.loop import to_device, train_device

    assert train_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert train_device("auto") == torch.device("cpu")  # auto without a GPU: the CPU
    with pytest.raises(ValueError, match="sees no CUDA GPU"):
        train_device("cuda")
    with pytest.raises(ValueError, match="sees no CUDA GPU"):
        Trainer(_config(tmp_path, device="cuda:0"))
    for bad in ("tpu", "gpu", ""):
        with pytest.raises(ValueError, match="'cpu', 'cuda', 'cuda:N' or 'auto'"):
            train_device(bad)
    batch = {"image": torch.ones(2, 3), "name": "x"}
    assert to_device(batch, torch.device("cpu")) is batch


def test_auto_device_on_a_cpu_machine_trains_as_cpu(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    a = Trainer(_config(tmp_path, name="a", device="auto"))
    b = Trainer(_config(tmp_path, name="b", device="cpu"))
    assert a.device == b.device == torch.device("cpu")
    ra, rb = a.fit(stop_after=1), b.fit(stop_after=1)
    assert ra[0]["loss"] == rb[0]["loss"] and ra[0]["nme5"] == rb[0]["nme5"]


def test_train_command_takes_device_and_data_root(tmp_path, monkeypatch, capsys):
    from facealign.cli import main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY.replace(f'data_root = "{FACES}"', 'data_root = "nowhere"'))
    args = ["train", str(cfg), "--out-dir", str(tmp_path / "runs"), "--epochs", "1"]
    assert main(args + ["--device", "cuda"]) == 2
    assert "sees no CUDA GPU" in capsys.readouterr().err
    assert main(args) == 2  # the config's data_root does not exist
    assert "nowhere" in capsys.readouterr().err
    assert main(args + ["--data-root", str(FACES), "--device", "auto"]) == 0
    assert json.loads((tmp_path / "runs/tiny/metrics.jsonl").read_text().splitlines()[0])["epoch"] == 1


class _PlantsAFile:
    """A pickled object whose loading opens (creates) ``marker``: what a crafted checkpoint plants."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_init_from_refuses_a_crafted_checkpoint(tmp_path):
    from facealign.engine.checkpoint import CheckpointError
    from facealign.models.registry import create_model

    marker = tmp_path / "PLANTED"
    five = create_model("facealign_mnv2_050_5", width=0.25, input_size=64, filters=16)
    torch.save({"model": five.state_dict(), "x": _PlantsAFile(marker)}, tmp_path / "five.pt")
    with pytest.raises(CheckpointError, match=r"init_from .*five\.pt: refused, it holds the Python object"):
        Trainer(_config(tmp_path, "ft", init_from=str(tmp_path / "five.pt")))
    assert not marker.exists()


def test_train_resume_refuses_a_planted_last_pt(tmp_path, capsys):
    from facealign.cli import main

    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY)
    marker = tmp_path / "PLANTED"
    (tmp_path / "runs/tiny").mkdir(parents=True)
    torch.save({"model": {}, "epoch": 0, "x": _PlantsAFile(marker)}, tmp_path / "runs/tiny/last.pt")
    assert main(["train", str(cfg), "--resume", "--out-dir", str(tmp_path / "runs")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "last.pt: refused" in err and "Traceback" not in err
    assert not marker.exists()


def test_rng_state_round_trips_through_a_weights_only_file(tmp_path):
    """capture_rng holds only tensors and plain data, and restoring it replays every generator exactly."""
    import random

    from facealign.engine.checkpoint import atomic_torch_save, capture_rng, load_torch_file, restore_rng

    random.seed(3)
    np.random.seed(3)
    torch.manual_seed(3)
    np.random.standard_normal()  # leaves a cached gaussian in the numpy state
    atomic_torch_save({"rng": capture_rng()}, tmp_path / "rng.pt")
    first = (random.random(), np.random.standard_normal(3), torch.rand(3))
    restore_rng(load_torch_file(tmp_path / "rng.pt")["rng"])
    again = (random.random(), np.random.standard_normal(3), torch.rand(3))
    assert first[0] == again[0] and np.array_equal(first[1], again[1]) and torch.equal(first[2], again[2])

def test_several_label_sources_train_with_their_masks_weights_and_held_out_protocols(tmp_path):
    """human68 (300w_human) and profile (CFP) beside the teacher's 68 and the human 5 points: each face in
    the model's scheme with NaN where its source has no point (weight 0 there), its source's weight on the
    rest; held-out faces only in the protocols; profiles the detector table lacks are left out."""
    from facealign.data.readers.cfp import read_cfp_folder
    from facealign.data.sources import split_holdout
    from facealign.types import Box

    cfp = FACES.parent / "cfp_profile"
    people = ["001", "002", "003", "004"]  # 001 / 002 train, 003 / 004 held out
    (tmp_path / "cfp_val.txt").write_text("# held out\n003\n004\n")
    table = {}
    for s in read_cfp_folder(cfp):
        if s.image_path.parent.name in people and s.image_path.stem != "04":  # the 4th photo of each: "not detected"
            b = Box.from_points(s.points)
            c, r = np.array(b.center), 0.15 * b.width
            table[os.path.relpath(s.image_path, FACES)] = (c + [[-r, -r], [r, -r], [0, 0], [-r, r], [r, r]]).tolist()
    (tmp_path / "align.json").write_text(json.dumps(table))
    text = TINY.replace("limit_val = 8", f'''limit_val = 8
align_points = "{tmp_path / 'align.json'}"
human68 = "../300w_human"
human68_val = "{REPO / 'configs/holdout_300w_human.txt'}"
profile = "../cfp_profile"
profile_val = "{tmp_path / 'cfp_val.txt'}"
human_over_teacher = true
small_face_px = 80
[data.source_weights]
teacher68 = 0.5
human68 = 2.0
profile = 3.0''')
    (tmp_path / "multi.toml").write_text(text)
    tr = Trainer(load_config(tmp_path / "multi.toml", out_dir=str(tmp_path / "runs")))
    by_source = {}
    for i, rec in enumerate(tr.train_set.records):
        by_source.setdefault(rec.label_source, []).append(i)
    # profiles: of the first 24 training photos (people 001, 002, 005, ...) the 6 the table has (001, 002 x 3)
    assert {k: len(v) for k, v in by_source.items()} == {"teacher68": 48, "human68": 24, "profile": 6}
    assert [p.name for p in tr.protocols] == ["human68", "profile", "small"]
    assert len(tr.protocols[0].dataset.records) == 8 and {r.image_path.parent.name for r in tr.protocols[1].dataset.records} == {"003", "004"}
    assert len(tr.protocols[1].dataset.records) == 6  # 2 people x 3 photos the table has
    _, held = split_holdout(read_annotations_300w(), FACES.parent / "300w_human", REPO / "configs/holdout_300w_human.txt")
    assert not {r.image_path for r in tr.train_set.records} & {s.image_path for s in held}
    item = tr.train_set[by_source["human68"][0]]
    assert set(item["weights"].unique().tolist()) <= {0.0, 2.0} and float(item["weights"].max()) == 2.0
    dense = [i for i in by_source["teacher68"] if np.isfinite(tr.train_set.records[i].points).all()]
    assert float(tr.train_set[dense[0]]["weights"].max()) == 0.5
    prof = tr.train_set[by_source["profile"][0]]["weights"]
    assert int((prof == 3.0).sum()) == 5 and int((prof == 0).sum()) == 63  # the 5 corresponding points only
    row = tr.validate()
    for key in ("nme5", "nme", "human68_nme", "human68_fr", "profile_nme", "profile_fr", "small_nme", "small_fr"):
        assert np.isfinite(row[key]), key


def read_annotations_300w():
    from facealign.data.readers import read_annotations

    return read_annotations(FACES.parent / "300w_human")


def test_label_offsets_move_peoples_training_points_before_the_teachers_groups_and_never_the_validation(tmp_path):
    """[data.label_offsets] on the real lists: the human 5 points of training photos under the prefix move by the
    offset, the teacher's eye / nose / mouth groups land on the moved points, the rest of the teacher's shape and
    every validation label stay as given."""
    dense = [line.split()[0] for line in (FACES / "train68.txt").read_text().splitlines()[:24]]
    five = {line.split()[0]: f"{FACES}/{line}" for line in (FACES / "train5.txt").read_text().splitlines()}
    (tmp_path / "five.txt").write_text("\n".join(five[p] for p in dense) + "\n")  # people's 5 points of the same photos
    base = TINY.replace('five_train = "val5.txt"', f'five_train = "{tmp_path / "five.txt"}"')
    base = base.replace("limit_val = 8", "limit_val = 8\nhuman_over_teacher = true")
    (tmp_path / "a.toml").write_text(base)
    (tmp_path / "b.toml").write_text(base + '\n[data.label_offsets]\n"images/net_7876/" = [1.0, -0.5]\n')
    a, b = (Trainer(load_config(tmp_path / f"{n}.toml", out_dir=str(tmp_path / "runs"))) for n in "ab")
    moved = 0
    for ra, rb in zip(a.train_set.records, b.train_set.records):
        assert ra.image_path == rb.image_path
        if ra.five is None:
            continue
        np.testing.assert_allclose(rb.five, ra.five - [1.0, -0.5])
        if np.isfinite(ra.points).all():
            np.testing.assert_allclose(rb.points[36:42], ra.points[36:42] - [1.0, -0.5])  # the group follows people's eye
            np.testing.assert_array_equal(rb.points[:17], ra.points[:17])  # the teacher's jaw stays
            moved += 1
    assert moved == 24
    for ra, rb in zip(a.val_set.records, b.val_set.records):
        np.testing.assert_array_equal(ra.points, rb.points)
        np.testing.assert_array_equal(ra.five, rb.five)


def test_label_offsets_scale_with_the_photos_a_pack_resized(tmp_path):
    """A data root whose photo_scales.json (scripts/pack_faces.py's pack) says a photo was resized by (sx, sy):
    the offset of that photo's people's points is scaled with it; the other photos take it whole."""
    import json
    import shutil

    rows = (FACES / "train5.txt").read_text().splitlines()[:2]
    root = tmp_path / "faces"
    for row in rows:
        (root / row.split()[0]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FACES / row.split()[0], root / row.split()[0])
    (root / "train5.txt").write_text("\n".join(rows) + "\n")
    first = rows[0].split()[0]
    assert first.startswith("images/")
    body = TINY.replace(f'data_root = "{FACES}"', f'data_root = "{root}"').replace('dense_train = "train68.txt"', 'dense_train = ""')
    body = body.replace('five_train = "val5.txt"', 'five_train = "train5.txt"').replace('dense_val = "val68.txt"', 'dense_val = ""')
    body = body.replace('five_val = "val5.txt"', 'five_val = "train5.txt"')
    (tmp_path / "plain.toml").write_text(body)
    (tmp_path / "offset.toml").write_text(body + '\n[data.label_offsets]\n"images/" = [1.0, -0.5]\n')
    plain = Trainer(load_config(tmp_path / "plain.toml", out_dir=str(tmp_path / "runs"))).train_set.records
    whole = Trainer(load_config(tmp_path / "offset.toml", out_dir=str(tmp_path / "runs"))).train_set.records
    (root / "photo_scales.json").write_text(json.dumps({first: [0.5, 0.25]}))
    scaled = Trainer(load_config(tmp_path / "offset.toml", out_dir=str(tmp_path / "runs"))).train_set.records
    assert [r.image_path.name for r in plain] == [Path(row.split()[0]).name for row in rows]
    np.testing.assert_allclose(whole[0].points, plain[0].points - [1.0, -0.5])
    np.testing.assert_allclose(scaled[0].points, plain[0].points - [0.5, -0.125])  # (1, -0.5) * (0.5, 0.25)
    np.testing.assert_allclose(scaled[1].points, plain[1].points - [1.0, -0.5])  # not resized: the whole offset
    (root / "photo_scales.json").write_text(json.dumps({first: [0.5]}))
    with pytest.raises(ValueError, match=r"photo_scales.json: expected photo path: \[sx, sy\] \(two finite positive scales\), got 'images/.*': \[0.5\]"):
        Trainer(load_config(tmp_path / "offset.toml", out_dir=str(tmp_path / "runs")))
