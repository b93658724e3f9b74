"""Every people's-labels config of issue 24 (``configs/experiments/*_human*.toml`` and the shipped
``configs/propnet_nolpm_human_focalwing.toml``) trains and resumes exactly: each file as it is (its data
sources, the held-out human slice, loss, schedule, init_from), shrunk to a few faces and a tiny network of
the same kind so that it runs in seconds. Every FoxNet experiment of issue 21 (``configs/experiments/foxnet_*.toml``)
likewise, through the bottom-up trainer: its canvases, real group-photo crops and mosaics, shrunk, with
stand-in labels of 3 real group photos (the pseudo-label cache is not in a clean clone). (Every config under ``configs/`` loads and keeps a sane schedule:
tests/engine/test_config_schedule.py.)"""

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from facealign.engine.config import load_config
from facealign.engine.trainer import Trainer

REPO = Path(__file__).resolve().parents[2]
EXPERIMENTS = sorted(REPO.glob("configs/**/*_human*.toml"))
#: Tiny constructor arguments of each model kind (those of the every-kind test in test_trainer.py).
TINY = {
    "hih_cpu_68": {"channels": 16, "depth": 2, "branch_channels": 16, "input_size": 64, "decimal_size": 4},
    "hih_wov_cpu_68": {"channels": 16, "depth": 2, "branch_channels": 16, "input_size": 64, "decimal_size": 4},
    "hih_wom_cpu_68": {"channels": 16, "depth": 2, "input_size": 64},
    "scc_cpu_68": {"width": 8, "branch_channels": [8, 16], "hidden": 16, "input_size": 64},
    "scc_fc_cpu_68": {"width": 8, "input_size": 64},
    "propnet_cpu_68": {"channels": 16, "depth": 2, "input_size": 64},
    "propnet_cpu_68_nolpm": {"channels": 16, "depth": 2, "input_size": 64},
    "facealign_mnv2_050_68": {"width": 0.25, "input_size": 64, "filters": 16},
    "facealign_mnv2_050_5": {"width": 0.25, "input_size": 64, "filters": 16},
}


def _shrunk(path: Path, tmp_path: Path):
    """The config with 8 training faces, 4 held out, a tiny network; crops aligned on the labels' 5 points
    (the detector's table, ``runs/audit``, is not in a clean clone). A config that continues another's run
    (``init_from`` a checkpoint under ``runs/``, not in a clean clone either) starts from scratch."""
    cfg = load_config(path)
    d = cfg.data
    data = replace(
        d, limit_train=8, limit_val=4, align_points="", human68_val=str(REPO / d.human68_val),
        profile_val=str(REPO / d.profile_val) if d.profile_val else "",
    )
    return replace(
        cfg, out_dir=str(tmp_path / "runs"), epochs=2, batch_size=4, workers=0, threads=1, log_every=0,
        model_kwargs=TINY[cfg.model], data=data, init_from="" if cfg.init_from.startswith("runs/") else cfg.init_from,
    )


def _straight_equals_split(path: Path, tmp_path: Path) -> Trainer:
    """The shrunk config trained 2 epochs straight, and in a fresh folder 1 epoch then resumed for the rest: the
    weights are equal tensor for tensor. Returns the straight trainer."""
    straight = Trainer(_shrunk(path, tmp_path / "straight"), config_root=REPO)
    straight.fit()
    for stop in (1, None):
        split = Trainer(_shrunk(path, tmp_path / "split"), config_root=REPO)
        split.fit(resume=True, stop_after=stop)
    a, b = straight.model.state_dict(), split.model.state_dict()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    return straight


def test_there_are_experiment_configs_and_each_model_has_a_tiny_size():
    assert sorted(p.stem for p in EXPERIMENTS) == [
        "hih_human_128", "hih_human_128_e36", "hih_human_256", "hih_human_256_e60", "hih_wom_human_128_e36",
        "hih_wov_human_128_e36", "propnet_human_awing", "propnet_human_awing_e10", "propnet_human_focalwing",
        "propnet_nolpm_human_awing", "propnet_nolpm_human_awing_e10", "propnet_nolpm_human_focalwing", "scc_fc_human", "scc_fc_human_e60", "scc_human", "scc_human_e60",
    ]
    assert {load_config(p).model for p in EXPERIMENTS} <= set(TINY)


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_experiment_config_trains_and_resumes_exactly(tmp_path, path):
    straight = _straight_equals_split(path, tmp_path)
    row = straight.history[-1]
    assert {"nme5", "human68_nme"} <= set(row) and all(torch.isfinite(torch.tensor(row[k])) for k in ("loss", "human68_nme"))
    assert [p.name for p in straight.protocols] == ["human68"] and len(straight.protocols[0].dataset.records) == 4
    assert {r.label_source for r in straight.train_set.records} == {"human68"}  # people's 68 points only


FOXNET = sorted(REPO.glob("configs/experiments/foxnet_*.toml"))
FACES = (REPO / "../shared/data/faces").resolve()


def _shrunk_foxnet(path: Path, tmp_path: Path, labels: Path):
    """The FoxNet config at 64 px with 12 training faces, 4 items of each kind it uses an epoch, one held-out
    group photo, on the CPU."""
    cfg = load_config(path)
    d = cfg.data
    data = replace(
        d, limit_train=12, limit_val=6, multiface_val="", faces_per_canvas=(1, 2), canvases_per_epoch=4,
        group_labels=str(labels), group_val=str(labels.parent / "val.txt"), group_crops_per_epoch=4,
        mosaics_per_epoch=min(d.mosaics_per_epoch, 4),
    )
    return replace(
        cfg, out_dir=str(tmp_path / "runs"), epochs=2, batch_size=4, workers=0, threads=1, log_every=0, device="cpu",
        data_root=str(FACES), model_kwargs={"input_size": 64, "channels": 16, "depth": 2}, data=data,
    )


def test_foxnet_experiments_are_there_and_the_mosaic_one_mixes_2_1_1():
    assert [p.stem for p in FOXNET] == ["foxnet_groups_68", "foxnet_groups_68_gpu", "foxnet_groups_68_mosaic"]
    d = load_config(REPO / "configs/experiments/foxnet_groups_68_mosaic.toml").data
    assert (d.group_crops_per_epoch, d.mosaics_per_epoch, d.canvases_per_epoch) == (320, 160, 160)
    assert all(load_config(p).data.mosaics_per_epoch == 0 for p in FOXNET if "mosaic" not in p.stem)


@pytest.mark.skipif(not (FACES / "../groups/boxes.csv").is_file(), reason="shared data not present")
@pytest.mark.parametrize("path", FOXNET, ids=[p.stem for p in FOXNET])
def test_foxnet_experiment_trains_and_resumes_exactly(tmp_path, path):
    from facealign.data.mosaic import MosaicDataset
    from facealign.engine.bottomup_trainer import BottomUpTrainer
    from tests.engine.test_bottomup_trainer import _group_labels

    labels = _group_labels(tmp_path)
    straight = BottomUpTrainer(_shrunk_foxnet(path, tmp_path / "straight", labels), config_root=REPO)
    assert any(isinstance(s, MosaicDataset) for s in straight._epoch_sets) == ("mosaic" in path.stem)
    straight.fit()
    for stop in (1, None):
        BottomUpTrainer(_shrunk_foxnet(path, tmp_path / "split", labels), config_root=REPO).fit(resume=True, stop_after=stop)
    split = BottomUpTrainer(_shrunk_foxnet(path, tmp_path / "split", labels), config_root=REPO)
    split.resume(tmp_path / "split/runs" / path.stem / "last.pt")
    row = straight.history[-1]
    assert split.start_epoch == 2 and torch.isfinite(torch.tensor(row["loss"])) and 0.0 <= row["group_f1"] <= 1.0
    a, b = straight.model.state_dict(), split.model.state_dict()
    for k in a:
        assert torch.equal(a[k], b[k]), k


PEOPLE = sorted(REPO.glob("configs/mnv2_050_*_people*.toml"))


@pytest.mark.parametrize("path", PEOPLE, ids=[p.stem for p in PEOPLE])
def test_the_people_convention_configs_train_and_resume_exactly(tmp_path, path):
    """Issue 20's recipes with people's labelling convention taken out (``[data.label_offsets]``): every source
    of the file, shrunk as the others (8 faces a list, a 64 px MobileNetV2-0.25, crops on the labels' points)."""
    cfg = load_config(path)
    assert cfg.data.label_offsets["images/net_7876/"] == [1.0, 0.0] and cfg.data.label_offsets["../300w_human/"] == [1.0, 0.0]
    straight = _straight_equals_split(path, tmp_path)
    assert {"human68"} < {r.label_source for r in straight.train_set.records}
    assert [p.name for p in straight.protocols][:1] == ["human68"] and straight.protocols[-1].name == "small"
