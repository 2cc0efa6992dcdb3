"""The filters' trade minimum is meant for the whole train: on a shorter segment (validation)
it is asked pro rata to the segment's length, so a 5-day window is not held to a whole train's
count (issue 27 item 3)."""

from __future__ import annotations

from scalper_tune.config.pipeline_spec import FilterSpec
from scalper_tune.robustness.segments import Segments
from scalper_tune.workflow.candidates import passes_filters

SEG = Segments(fold_edges=(0, 100, 200, 300, 400), validation=(400, 500), test=(500, 650),
               end=650)


def test_the_minimum_scales_with_the_segments_length():
    assert SEG.pro_rata(30, "train") == 30
    assert SEG.pro_rata(30, "validation") == 8  # 30 x 100 / 400 = 7.5, rounded up
    assert SEG.pro_rata(30, "test") == 12  # 30 x 150 / 400 = 11.25
    assert SEG.pro_rata(1, "validation") == 1  # never below one trade


def test_a_validation_with_its_share_of_trades_passes():
    figures = {"val_sharpe": 3.0, "val_max_dd_pct": 0.05, "val_trades": 10}
    f = FilterSpec(min_sharpe=2.5, max_drawdown=0.15, min_trades=30)
    assert not passes_filters(figures, f, "val")  # held to the whole train's 30 trades
    assert passes_filters(figures, f, "val", SEG.pro_rata(f.min_trades, "validation"))
    assert not passes_filters(dict(figures, val_trades=7), f, "val",
                              SEG.pro_rata(f.min_trades, "validation"))
