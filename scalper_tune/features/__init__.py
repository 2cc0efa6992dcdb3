"""Named causal features built on the kernels, and the on-disk feature cache."""

from typing import Mapping

import numpy as np

# per symbol, per feature name: one float64 value per bar (the one type of a market's features)
Features = Mapping[str, Mapping[str, np.ndarray]]
