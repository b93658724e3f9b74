"""Every people's-labels config of issue 24 (``configs/experiments/*_human*.toml`` and the shipped
``configs/propnet_nolpm_human_focalwing.toml``) trains and resumes exactly: each file as it is (its data
sources, the held-out human slice, loss, schedule, init_from), shrunk to a few faces and a tiny network of
the same kind so that it runs in seconds. (Every config under ``configs/`` loads and keeps a sane schedule:
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
}


def _shrunk(path: Path, tmp_path: Path):
    """The config with 8 training faces, 4 held out, a tiny network; crops aligned on the labels' 5 points
    (the detector's table, ``runs/audit``, is not in a clean clone)."""
    cfg = load_config(path)
    data = replace(cfg.data, limit_train=8, limit_val=4, align_points="", human68_val=str(REPO / cfg.data.human68_val))
    return replace(
        cfg, out_dir=str(tmp_path / "runs"), epochs=2, batch_size=4, workers=0, threads=1, log_every=0,
        model_kwargs=TINY[cfg.model], data=data,
    )


def test_there_are_experiment_configs_and_each_model_has_a_tiny_size():
    assert sorted(p.stem for p in EXPERIMENTS) == [
        "hih_human_128", "hih_human_128_e36", "hih_human_256", "hih_human_256_e60", "hih_wom_human_128_e36",
        "hih_wov_human_128_e36", "propnet_human_awing", "propnet_human_focalwing", "propnet_nolpm_human_awing",
        "propnet_nolpm_human_focalwing", "scc_fc_human", "scc_fc_human_e60", "scc_human", "scc_human_e60",
    ]
    assert {load_config(p).model for p in EXPERIMENTS} <= set(TINY)


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_experiment_config_trains_and_resumes_exactly(tmp_path, path):
    straight = Trainer(_shrunk(path, tmp_path / "straight"), config_root=REPO)
    straight.fit()
    for stop in (1, None):
        split = Trainer(_shrunk(path, tmp_path / "split"), config_root=REPO)
        split.fit(resume=True, stop_after=stop)
    row = straight.history[-1]
    assert {"nme5", "human68_nme"} <= set(row) and all(torch.isfinite(torch.tensor(row[k])) for k in ("loss", "human68_nme"))
    assert [p.name for p in straight.protocols] == ["human68"] and len(straight.protocols[0].dataset.records) == 4
    assert {r.label_source for r in straight.train_set.records} == {"human68"}  # people's 68 points only
    a, b = straight.model.state_dict(), split.model.state_dict()
    for k in a:
        assert torch.equal(a[k], b[k]), k
