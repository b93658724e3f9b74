"""Model tests run torch on one thread: with two pytest-xdist workers on two shared cores, two OpenMP
threads per worker oversubscribe the CPU and small convolutions slow down ~100x."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_torch_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
