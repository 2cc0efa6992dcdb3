"""Named causal features built on the kernels, and the on-disk feature cache."""
