"""scikit-learn pieces: the regime classifier (entry mask, Phase 2 labels) and the ML-edge gate."""
