"""The GPU prefilter (numba.cuda) against the CPU prefilter, under numba's CUDA simulator (CI has
no GPU): the same trades and integer columns, P&L and Sharpe within 1e-9 relative, on data with
and without a book."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT, clean_env

pytestmark = pytest.mark.slow  # the CUDA simulator in a subprocess

INTEGER = ("trades", "assets_traded")
CLOSE = ("total_pnl", "equity_pnl", "sharpe_mean", "return_on_account", "max_dd_pct", "m1",
         "m2", "win_rate", "avg_return", "exposure", "avg_holding_bars")


def test_gpu_prefilter_equals_cpu_prefilter_under_the_simulator():
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "kernels" / "cuda_equality.py")],
                          capture_output=True, text=True, timeout=600, cwd=ROOT,
                          env=clean_env(NUMBA_ENABLE_CUDASIM="1"))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    for case in ("book", "no_book"):
        cpu, gpu = result[case]["cpu"], result[case]["gpu"]
        assert sum(cpu["trades"]) > 0, case  # the case trades
        steps = result[case]["steps"]  # one loop: the CPU's block-by-block lanes, the GPU's
        assert steps["gpu"] == steps["cpu"] and np.sum(steps["cpu"]) > 0, case  # one pass
        for column in INTEGER:
            assert gpu[column] == cpu[column], (case, column)
        for column in CLOSE:
            np.testing.assert_allclose(np.array(gpu[column], dtype=float),
                                       np.array(cpu[column], dtype=float), rtol=1e-9,
                                       err_msg=f"{case} {column}")
