"""One contract for every implementation of the strategy step: on each scenario it covers, its
final state for every (parameter set, symbol) equals the event engine's (`run_engine_nb`).

Implementations: the CPU prefilter (entry candidates and open bars only, work plan, threads),
the GPU prefilter under numba's CUDA simulator (slow: a child process), and the live runner with
the paper broker (online features, one bar at a time). The prefilter's contract covers each
bar's spread (`crypto_book_spread`: it charges the engine's spreads) but not the book's
displayed sizes (it models no size impact, see engine/prefilter.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from scalper_tune.kernels.layout import S
from tests.conftest import ROOT, clean_env
from tests.contract.scenarios import SCENARIOS, engine_states, paper_states, prefilter_states

_MARKETS: dict = {}
_REFERENCE: dict = {}


def _market(name: str):
    if name not in _MARKETS:
        _MARKETS[name] = SCENARIOS[name][0]()
    return _MARKETS[name]


def _reference(name: str) -> np.ndarray:
    if name not in _REFERENCE:
        _REFERENCE[name] = engine_states(_market(name))
        assert _REFERENCE[name][:, :, S.trades].sum() > 100, name  # the scenario trades
    return _REFERENCE[name]


def _cuda(name: str) -> np.ndarray:
    proc = subprocess.run([sys.executable, "-m", "tests.contract.cuda_states", name],
                          capture_output=True, text=True, timeout=900, cwd=ROOT,
                          env=clean_env(NUMBA_ENABLE_CUDASIM="1"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return np.array(json.loads(proc.stdout))


IMPLEMENTATIONS = {
    "cpu_prefilter": (lambda name: prefilter_states(_market(name)), True),
    "cuda_prefilter": (_cuda, True),
    "paper_runner": (lambda name: paper_states(_market(name)), False),
}
CASES = [pytest.param(impl, scenario, id=f"{impl}-{scenario}",
                      marks=[pytest.mark.slow] if impl == "cuda_prefilter" else [])
         for impl, (_, prefilter_like) in IMPLEMENTATIONS.items()
         for scenario, (_, covered) in SCENARIOS.items() if covered or not prefilter_like
         # the simulator is slow: the GPU prefilter runs the same step (job_loop) with the same
         # per-bar spreads, exercised at spread 0 on the book-less scenarios
         if not (impl == "cuda_prefilter" and scenario == "crypto_book_spread")]


@pytest.mark.parametrize("impl,scenario", CASES)
def test_final_states_equal_the_event_engine(impl, scenario):
    got = IMPLEMENTATIONS[impl][0](scenario)
    want = _reference(scenario)
    assert got.shape == want.shape
    if impl == "cuda_prefilter":  # the simulator's arithmetic is Python's, not LLVM's
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    else:
        np.testing.assert_array_equal(got, want)
