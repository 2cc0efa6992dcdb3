"""How the CPU prefilter shares its jobs among threads.

A job is one (combination, asset) pair. Numba's `prange` splits its range into one contiguous
piece per thread, decided before the loop starts; over the grid's order (z_window, then entry_z,
...) those pieces differ several-fold in work, so with many threads most of them wait for the
slowest (issue 17 measured a per-core efficiency of 0.30 at 16 threads). The plan instead:

- cuts the jobs into *units*: up to `unit_jobs` combinations of one candidate group (z_window,
  entry_z, vol_z_min) on one asset, of equal size, drawn from a fixed shuffle of the group so
  that units mix the grid's inner keys alike (a stride would repeat their period). A unit's jobs share the asset's arrays and its candidate
  list, and the kernel advances them together block by block (cache blocking);
- gives every thread one *lane*, and deals the units to the lanes largest first, each to the
  lane with the least work so far (longest-processing-time-first), by an estimate of the work:
  the job's entry candidates plus one;
- orders each lane's units by (asset, group), so consecutive units read the same asset.

The plan decides only who computes what and in which order: every job's steps, and so its result,
are the same under any plan.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

UNIT_JOBS = 64  # combinations of one group per unit
BLOCK_BARS = 2048  # bars a unit's jobs advance together (kernel cache blocking)


@dataclass(frozen=True)
class WorkPlan:
    """jobs (k * n_assets + a) unit by unit, lane by lane; unit u is
    jobs[unit_ptr[u]:unit_ptr[u + 1]], lane l is units lane_ptr[l]:lane_ptr[l + 1];
    estimate: the estimated work of each lane (candidates + 1, summed over its jobs)."""

    jobs: np.ndarray
    unit_ptr: np.ndarray
    lane_ptr: np.ndarray
    estimate: np.ndarray

    @property
    def lanes(self) -> int:
        return len(self.lane_ptr) - 1


def plan(group_of: np.ndarray, cand_ptr: np.ndarray, n_assets: int, lanes: int,
         unit_jobs: int = UNIT_JOBS) -> WorkPlan:
    """The work plan of combinations with candidate groups `group_of` (one per combination) on
    `n_assets` assets, for `lanes` threads. cand_ptr: the candidates' CSR pointers
    (group g, asset a: cand_ptr[g * n_assets + a] .. cand_ptr[g * n_assets + a + 1])."""
    group_of = np.asarray(group_of, dtype=np.int64)
    n_combos = len(group_of)
    lanes = max(1, min(int(lanes), n_combos * n_assets))
    counts = np.diff(np.asarray(cand_ptr, dtype=np.int64))
    order = np.argsort(group_of, kind="stable")  # combinations of a group, in grid order
    groups, first = np.unique(group_of[order], return_index=True)
    bounds = list(first) + [n_combos]
    units: list[tuple[int, int, np.ndarray]] = []  # (asset, group, job numbers)
    shuffle = np.random.default_rng(0)  # fixed: the same plan every time
    for a in range(n_assets):
        for gi, g in enumerate(groups):
            members = order[bounds[gi]:bounds[gi + 1]]
            members = members[shuffle.permutation(len(members))]  # units mix the inner keys
            n_units = -(-len(members) // unit_jobs)
            for u0 in range(n_units):
                part = np.sort(members[u0 * len(members) // n_units:
                                       (u0 + 1) * len(members) // n_units])
                units.append((a, int(g), part * n_assets + a))
    cost = np.array([len(jobs) * (counts[g * n_assets + a] + 1) for a, g, jobs in units],
                    dtype=np.float64)
    load = [(0.0, lane) for lane in range(lanes)]
    owned: list[list[int]] = [[] for _ in range(lanes)]
    for u in np.argsort(-cost, kind="stable"):  # largest first, to the least-loaded lane
        work, lane = heapq.heappop(load)
        owned[lane].append(int(u))
        heapq.heappush(load, (work + cost[u], lane))
    jobs, unit_ptr, lane_ptr = [], [0], [0]
    for lane_units in owned:
        for u in sorted(lane_units):  # units were made in (asset, group) order
            jobs.append(units[u][2])
            unit_ptr.append(unit_ptr[-1] + len(units[u][2]))
        lane_ptr.append(len(unit_ptr) - 1)
    estimate = np.array([sum(cost[u] for u in lane_units) for lane_units in owned])
    return WorkPlan(jobs=np.concatenate(jobs).astype(np.int64),
                    unit_ptr=np.asarray(unit_ptr, dtype=np.int64),
                    lane_ptr=np.asarray(lane_ptr, dtype=np.int64), estimate=estimate)


def contiguous_makespan(work: np.ndarray, lanes: int) -> float:
    """Efficiency (mean over max lane work) of the old split, `lanes` contiguous pieces of the
    job range k * n_assets + a; work: n_combos x n_assets (steps per job). For the benchmark."""
    flat = np.asarray(work, dtype=np.float64).ravel()
    loads = np.array([piece.sum() for piece in np.array_split(flat, lanes)])
    return float(loads.mean() / loads.max())


def plan_makespan(plan_: WorkPlan, work: np.ndarray) -> float:
    """Efficiency (mean over max lane work) of `plan_` given the work each job really did."""
    flat = np.asarray(work, dtype=np.float64).ravel()
    loads = np.array([flat[plan_.jobs[plan_.unit_ptr[plan_.lane_ptr[lane]]:
                                      plan_.unit_ptr[plan_.lane_ptr[lane + 1]]]].sum()
                      for lane in range(plan_.lanes)])
    return float(loads.mean() / loads.max())
