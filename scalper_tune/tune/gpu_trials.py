"""Where Phase 1's kernel runs: `phase1.device` resolved on the driver (auto | cpu | gpu) and the
GPU share its Ray trials reserve."""

from __future__ import annotations

import logging

import ray

from scalper_tune.config.pipeline_spec import Phase1Spec
from scalper_tune.pipeline.devices import check_device

log = logging.getLogger("scalper_tune.run")


def phase1_device(spec: Phase1Spec) -> tuple[str, float]:
    """("cpu" | "gpu", GPUs each trial reserves). A GPU trial reserves `gpus_per_trial` only when
    the Ray cluster has GPUs; the CUDA simulator (no GPU at all) reserves none."""
    if not check_device(spec):
        return "cpu", 0.0
    from scalper_tune.kernels.prefilter_cuda import simulated

    cluster_gpus = float(ray.cluster_resources().get("GPU", 0.0)) if ray.is_initialized() else 0.0
    if simulated() or cluster_gpus <= 0:
        log.info("phase1: the screen runs the CUDA kernel "
                 + ("in numba's CUDA simulator" if simulated() else "on this machine's GPU")
                 + (", reserving no Ray GPU (the cluster reports none)"))
        return "gpu", 0.0
    log.info(f"phase1: the screen runs on GPUs, {spec.gpus_per_trial:g} GPU per trial")
    return "gpu", spec.gpus_per_trial
