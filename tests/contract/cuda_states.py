"""Run by the contract suite in a process with NUMBA_ENABLE_CUDASIM=1: the GPU prefilter's final
states of one scenario, as JSON."""

from __future__ import annotations

import json
import sys

from tests.contract.scenarios import SCENARIOS, prefilter_states

if __name__ == "__main__":
    make, _ = SCENARIOS[sys.argv[1]]
    json.dump(prefilter_states(make(), device="gpu").tolist(), sys.stdout)
