"""Suite-wide settings: one torch thread per test process (pytest -n 2 runs two on 2 cores)."""

import torch

torch.set_num_threads(1)
