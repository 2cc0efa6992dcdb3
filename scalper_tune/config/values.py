"""Plain Python values: what YAML, JSON, Tune configs and MLflow want instead of NumPy's."""

from __future__ import annotations

import math


def python_value(value):
    """A NumPy scalar as the Python value (anything else unchanged)."""
    return value.item() if hasattr(value, "item") else value


def json_safe(value):
    """JSON-safe, recursively: NumPy scalars as Python values, NaN and infinities as None (JSON
    has no such numbers)."""
    value = python_value(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
