"""Where Phase 1's kernel may run: `phase1.device` checked before any work (no Ray here; the
Tune executor adds the GPU share its trials reserve)."""

from __future__ import annotations

from scalper_tune.config.pipeline_spec import Phase1Spec
from scalper_tune.errors import ConfigError


def gpu_usable() -> bool:
    """numba.cuda sees a GPU (or runs the CUDA simulator) in this process."""
    try:
        from scalper_tune.kernels.prefilter_cuda import available
    except Exception:  # numba's CUDA target cannot load (no toolkit at all)
        return False
    return available()


def check_device(spec: Phase1Spec) -> bool:
    """Whether Phase 1 runs on the GPU; `device: gpu` without one is a ConfigError (checked
    before any work starts)."""
    if spec.device == "cpu":
        return False
    usable = gpu_usable()
    if spec.device == "gpu" and not usable:
        raise ConfigError("phase1.device: gpu, but numba.cuda finds no usable GPU here; install "
                          "the GPU extra (pip install -e \".[gpu]\") on a machine with an NVIDIA "
                          "GPU and driver, or set phase1.device: auto or cpu.")
    return usable
