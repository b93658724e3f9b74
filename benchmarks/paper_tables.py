"""Our parameter counts, sizes and FLOPs beside Earp et al.'s Tables 2, 3, 4 and 6, and beside the
size tables of the other methods (HIH Table I, PropagationNet Table 8, SCC Table 4).

Every paper row ("Sub-pixel face landmarks using heatmaps and a bag of tricks") is built from the zoo
(``sertis_*``) and measured with :func:`facealign.models.model_info` at the card's input size (192 px).
The "paper" columns are the paper's own numbers, typed in by hand. Our FLOPs are given in both
conventions -- GMACs (multiply-adds) and GFLOPs (= 2 x MACs, what FlopCounterMode counts) -- and our
size both as fp32 bytes / 2**20 (MiB) and / 10**6 (MB); the closing lines say which convention fits.

    .venv/bin/python -m benchmarks.paper_tables
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from statistics import mean, median
from typing import Any

import torch

from facealign.models import create_model, get_model_card, model_info


@dataclass(frozen=True)
class PaperRow:
    """One row of the paper: where it is, our registered model, and the paper's GFLOPS / Size (MB)."""

    table: str
    label: str
    model: str
    paper_gflops: float
    paper_mb: float | None
    kwargs: dict[str, Any] = field(default_factory=dict)
    in_fit: bool = True  # counted in the convention summary


def _t3(strategy: str, gflops: float, mb: float) -> PaperRow:
    return PaperRow("T2/3" if strategy in ("SSSS", "DDDD") else "T3", f"MNetV2-0.25 {strategy}",
                    f"sertis_mnv2_025_{strategy.lower()}_106", gflops, mb)


#: The paper's numbers (Tables 2-4 and 6). Table 3 repeats Table 2's two rows.
PAPER_ROWS: tuple[PaperRow, ...] = (
    _t3("SSSS", 0.56, 6.12),
    _t3("DSSS", 0.64, 9.56),
    _t3("DDSS", 0.96, 12.00),
    _t3("DSSD", 1.10, 10.08),
    _t3("DSDS", 1.73, 11.69),
    _t3("DDDS", 2.25, 16.44),
    _t3("SSSD", 1.02, 6.64),
    _t3("SDSD", 1.29, 8.76),
    _t3("SSDD", 2.90, 10.08),
    _t3("SDDD", 3.36, 13.51),
    _t3("DDDD", 3.50, 18.26),
    PaperRow("T2", "SSSS literal Sec4.2", "sertis_mnv2_025_ssss_106", 0.56, 6.12,
             {"heatmap_conv": "before_final_block"}, in_fit=False),
    PaperRow("T4", "MNetV2-1.0 SSD", "sertis_mnv2_100_ssd_106", 0.32, None),
    PaperRow("T4/6", "MNetV2-1.0 SDD", "sertis_mnv2_100_sdd_106", 0.43, 12.16),
    PaperRow("T4", "MNetV2-1.0 SSSD", "sertis_mnv2_100_sssd_106", 0.55, None),
    PaperRow("T4", "MNetV2-1.0 SDDSD", "sertis_mnv2_100_sddsd_106", 0.61, None),
    PaperRow("T6", "ResNet18 SDD", "sertis_resnet18_sdd_106", 1.13, 45.56),
    PaperRow("T6", "ResNet50 SDD", "sertis_resnet50_sdd_106", 3.23, 94.10),
)


@dataclass(frozen=True)
class MethodRow:
    """A row of another method's size table: our registered model beside the paper's params / GFLOPs."""

    source: str
    model: str
    paper_params_m: float
    paper_gflops: float


#: The other papers' own numbers (each states "FLOPs"; which convention is checked below).
METHOD_ROWS: tuple[MethodRow, ...] = (
    MethodRow("HIH Table I (HIH_T)", "HIH_T", 10.37, 6.99),
    MethodRow("HIH Table I (HIH_S)", "HIH_S", 14.47, 10.38),
    MethodRow("HIH Table I (HIH_B)", "HIH_B", 22.68, 17.15),
    MethodRow("PropagationNet Table 8", "propnet_wflw_98", 36.30, 42.83),
    MethodRow("SCC Table 4 (ResNet-34)", "scc_resnet34_68", 24.68, 5.165),
)


def print_methods() -> None:
    """The other methods' paper-size models beside their papers, GMACs and 2 x GMACs."""
    head = f"{'source':<26} {'model':<17} {'params M':>8} {'paper M':>8} | {'GMACs':>7} {'GFLOPs':>7} {'paper G':>8} {'MAC off':>8}"
    print(head)
    print("-" * len(head))
    for row in METHOD_ROWS:
        card = get_model_card(row.model)
        info = model_info(create_model(row.model), card.input_size)
        off = 100 * (info.gmacs - row.paper_gflops) / row.paper_gflops
        print(f"{row.source:<26} {row.model:<17} {info.params / 1e6:8.2f} {row.paper_params_m:8.2f} | "
              f"{info.gmacs:7.2f} {info.gflops:7.2f} {row.paper_gflops:8.2f} {off:+7.1f}%")
    print("=> all three papers count multiply-adds as 'FLOPs' (the MAC column lands within a few % of theirs; "
          "2 x MACs is twice off).\n   Gaps are explained in each model's docstring (HIH: the authors' unused "
          "shortcut convolutions; PropagationNet: unstated module sizes).")


def measure(rows: tuple[PaperRow, ...]) -> list[dict[str, Any]]:
    """Build each row's model and measure it at its card's input size."""
    out = []
    for row in rows:
        card = get_model_card(row.model)
        info = model_info(create_model(row.model, **row.kwargs), card.input_size)
        out.append({"row": row, "info": info})
    return out


def _fmt(v: float | None, spec: str) -> str:
    return format("-", ">" + spec.split(".")[0]) if v is None else format(v, spec)


def print_table(results: list[dict[str, Any]]) -> None:
    head = (f"{'table':<5} {'row':<21} {'params M':>8} {'MiB':>6} {'MB':>6} {'paper MB':>8} | "
            f"{'GMACs':>6} {'GFLOPs':>6} {'paper GFLOPS':>12} {'dMAC':>6} {'dFLOP':>6}")
    print(head)
    print("-" * len(head))
    for r in results:
        row, info = r["row"], r["info"]
        print(
            f"{row.table:<5} {row.label:<21} {info.params / 1e6:8.3f} {info.size_mb:6.2f} {info.size_mb_decimal:6.2f} "
            f"{_fmt(row.paper_mb, '8.2f')} | {info.gmacs:6.3f} {info.gflops:6.3f} {row.paper_gflops:12.2f} "
            f"{info.gmacs - row.paper_gflops:+6.2f} {info.gflops - row.paper_gflops:+6.2f}"
        )


def print_summary(results: list[dict[str, Any]]) -> None:
    fit = [r for r in results if r["row"].in_fit]
    t3 = [r for r in fit if r["row"].table in ("T2/3", "T3")]
    errors: dict[str, float] = {}
    for title, sel in (("Tables 2-3 (MobileNetV2-0.25, 11 rows)", t3), ("all paper rows", fit)):
        mac = mean(abs(r["info"].gmacs - r["row"].paper_gflops) / r["row"].paper_gflops for r in sel)
        flop = mean(abs(r["info"].gflops - r["row"].paper_gflops) / r["row"].paper_gflops for r in sel)
        errors.setdefault("MACs", mac)
        errors.setdefault("2 x MACs", flop)
        print(f"FLOPs, {title}: mean |ours - paper| / paper: MACs {100 * mac:.1f}%, 2 x MACs {100 * flop:.1f}%")
    mac3 = [r["info"].gmacs - r["row"].paper_gflops for r in t3]
    print(f"  Tables 2-3, GMACs - paper GFLOPS: {min(mac3):+.3f} .. {max(mac3):+.3f} G")
    outliers = []
    for first in "SD":
        grp = [r for r in t3 if r["row"].label.split()[-1][0] == first]
        for unit, key in (("MiB", "size_mb"), ("MB", "size_mb_decimal")):
            off = [r["row"].paper_mb - getattr(r["info"], key) for r in grp]
            mid = median(off)
            print(f"  size, Table 3 strategies starting with {first}: paper - ours ({unit:>3}) median {mid:.3f}, "
                  f"{[round(o, 2) for o in off]}")
            if unit == "MiB":
                outliers += [f"{r['row'].label.split()[-1]} ({o - mid:+.2f} MB)" for r, o in zip(grp, off) if abs(o - mid) > 0.1]
    best = min(errors, key=errors.get)  # type: ignore[arg-type]
    print(f"=> the paper's 'GFLOPS' are {best} in 10^9 (Tables 2-3 within {100 * errors[best]:.1f}% on average). "
          "Its 'Size (MB)' follows fp32 bytes / 2^20: within each group of Table 3 the paper - ours offset is\n"
          "   constant in MiB (not in 10^6-byte MB), but the constant itself is not explained by parameters. "
          f"Rows off their group's offset: {outliers or 'none'}.\n"
          "   Rows with a large dMAC outside Table 3 use an input size / filter count the paper does not state.")


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    torch.set_num_threads(2)
    results = measure(PAPER_ROWS)
    print_table(results)
    print()
    print_summary(results)
    print()
    print_methods()


if __name__ == "__main__":
    main()
