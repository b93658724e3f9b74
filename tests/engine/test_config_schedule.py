import re
from pathlib import Path

import pytest

from facealign.engine.config import OptimConfig, load_config
from facealign.engine.schedule import lr_factor

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_step_schedule_hand_worked():
    cfg = OptimConfig(lr=1e-3, schedule="step", milestones=(20, 30), gamma=0.1)
    assert lr_factor(0.0, cfg=cfg, total_epochs=40) == 1.0
    assert lr_factor(19.99, cfg=cfg, total_epochs=40) == 1.0
    assert lr_factor(20.0, cfg=cfg, total_epochs=40) == pytest.approx(0.1)
    assert lr_factor(35.0, cfg=cfg, total_epochs=40) == pytest.approx(0.01)


def test_cosine_with_warmup_hand_worked():
    cfg = OptimConfig(lr=1e-3, schedule="cosine", warmup_epochs=2.0, min_lr=1e-5)
    # half-way through warm-up at epoch 1: cosine part (1e-2 + 0.99 * (1 + cos(pi / 10)) / 2) x 0.5
    import math

    cos_part = 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * 1 / 10))
    assert lr_factor(1.0, cfg=cfg, total_epochs=10) == pytest.approx(0.5 * cos_part)
    assert lr_factor(10.0, cfg=cfg, total_epochs=10) == pytest.approx(0.01)
    assert lr_factor(5.0, cfg=cfg, total_epochs=10) == pytest.approx(0.01 + 0.99 * 0.5)


def test_unknown_schedule_is_rejected():
    with pytest.raises(ValueError, match="unknown schedule 'poly'"):
        lr_factor(0.0, cfg=OptimConfig(schedule="poly"), total_epochs=1)


def test_every_shipped_config_loads():
    files = sorted(CONFIGS.rglob("*.toml"))  # configs/experiments/ too
    assert files, "no configs/*.toml"
    for f in files:
        cfg = load_config(f)
        assert cfg.name == f.stem
        assert cfg.epochs > 0 and cfg.batch_size > 0


def test_shipped_weights_name_a_recipe_in_configs():
    """configs/ holds the recipes of shipped weights (configs/experiments/ the rest): every model card of
    facealign/weights/ names the config it was trained with, and that file is in configs/ itself."""
    cards = sorted((CONFIGS.parent / "facealign/weights").glob("*.md"))
    named = {c.name: re.findall(r"`facealign train (configs/\S+\.toml)", c.read_text()) for c in cards}
    trained = {k: v for k, v in named.items() if v}
    assert set(trained) >= {"facealign_mnv2_050_68.md", "facealign_mnv2_050_5.md", "propnet_cpu_68_nolpm.md"}
    for card, paths in trained.items():
        for path in paths:
            assert (CONFIGS.parent / path).is_file() and (CONFIGS.parent / path).parent == CONFIGS, (card, path)


def test_unknown_keys_name_the_file(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('model = "x"\nepochz = 3\n')
    with pytest.raises(ValueError, match=r"bad.toml: unknown key\(s\) \['epochz'\]"):
        load_config(p)
    p.write_text('model = "x"\n[optim]\nlr = 0.1\nmomentom = 0.9\n')
    with pytest.raises(ValueError, match=r"bad.toml \[optim\]: unknown key\(s\) \['momentom'\]"):
        load_config(p)
    p.write_text('model = "x\n')
    with pytest.raises(ValueError, match="invalid TOML"):
        load_config(p)


def test_overrides_and_tuples(tmp_path):
    p = tmp_path / "exp.toml"
    p.write_text('model = "m"\nepochs = 4\n[optim]\nmilestones = [2, 3]\n[augment]\nrotation = 5.0\n')
    cfg = load_config(p, epochs=7, out_dir=None)
    assert cfg.name == "exp" and cfg.epochs == 7
    assert cfg.optim.milestones == (2, 3)
    assert cfg.augment.rotation == 5.0
