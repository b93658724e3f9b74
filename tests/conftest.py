"""Suite-wide settings: one torch thread per test process (pytest -n 2 runs two on 2 cores)."""

import torch

torch.set_num_threads(1)

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from facealign.models.registry import create_model  # noqa: E402

#: A small, randomly initialised 68-point model: fast enough for API and CLI tests on real photos.
TINY_KWARGS = {"width": 0.25, "input_size": 64, "filters": 16}


@pytest.fixture(scope="session")
def seeded_checkpoint(tmp_path_factory):
    """``seeded_checkpoint(name, kwargs)``: a checkpoint file as the trainer writes them, of model ``name``
    built with ``kwargs`` with seed 0, in a fresh folder."""

    def write(name: str, kwargs: dict) -> Path:
        torch.manual_seed(0)
        net = create_model(name, **kwargs)
        path = tmp_path_factory.mktemp("ck") / f"{name}.pt"
        torch.save({"model": net.state_dict(), "model_name": name, "model_kwargs": kwargs}, path)
        return path

    return write


@pytest.fixture(scope="session")
def ckpt(seeded_checkpoint) -> Path:
    """A checkpoint file of the tiny model, seed 0."""
    return seeded_checkpoint("facealign_mnv2_050_68", TINY_KWARGS)


@pytest.fixture(scope="session")
def aligner(ckpt):
    """An Aligner (PyTorch backend) over :func:`ckpt`."""
    from facealign.api import Aligner

    return Aligner(ckpt, backend="torch")


@pytest.fixture(scope="session")
def default_aligner():
    """An Aligner with the shipped default model (ONNX Runtime): for tests that need real landmarks."""
    from facealign.api import Aligner

    return Aligner()
