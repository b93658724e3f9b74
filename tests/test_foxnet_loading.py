"""benchmarks/foxnet_loading.py: the items it counts and the epochs it sets (its timings are a benchmark's)."""

import torch
from torch.utils.data import DataLoader, Dataset

from benchmarks.foxnet_loading import items_per_second


class _Items(Dataset):
    def __init__(self) -> None:
        self.epochs: list[int] = []

    def set_epoch(self, epoch: int) -> None:
        self.epochs.append(epoch)

    def __len__(self) -> int:
        return 5

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"index": torch.tensor(i)}


def test_items_per_second_counts_every_item_of_every_epoch():
    ds = _Items()
    # 5 items in batches of 2 (2 + 2 + 1), 3 epochs: 15 items; each epoch set before it is read
    n, seconds = items_per_second(lambda epoch: DataLoader(ds, batch_size=2), [ds], 3)
    assert (n, ds.epochs) == (15, [0, 1, 2]) and seconds > 0
