"""Robustness: walk-forward segments, causal regime labels, overfitting statistics (DSR, PBO),
the robustness score, and stress scenarios."""
