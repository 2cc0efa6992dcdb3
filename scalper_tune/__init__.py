"""scalper_tune: robust tuning of a causal scalping strategy on Ray Tune."""

__version__ = "0.1.0"
