"""The regime classifier: a scikit-learn estimator over causal features.

`RegimeClassifier` follows the estimator rules (`__init__` only stores its arguments, `fit`
returns self, `predict` / `predict_proba`, `classes_`), checked with `parametrize_with_checks`.
It wraps a HistGradientBoostingClassifier (handles the NaN of feature warm-up natively) with
balanced class weights, so rare regimes such as toxic flow are not drowned by calm bars.

The classifier bins its inputs itself, at the same 255 unweighted quantiles the boosting model
would use: with class weights, scikit-learn 1.9 finds bin edges with a weighted percentile per
edge (254 sorts per column), which made each fit ~5x slower than the trees themselves.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data


MAX_BINS = 255


def bin_edges(X: np.ndarray) -> list[np.ndarray]:
    """Per column, at most MAX_BINS - 1 unweighted quantile edges of its finite values."""
    q = np.linspace(0.0, 1.0, MAX_BINS + 1)[1:-1]
    out = []
    for col in np.asarray(X, dtype=float).T:
        finite = col[np.isfinite(col)]
        out.append(np.unique(np.quantile(finite, q)) if finite.size else np.zeros(0))
    return out


def quantize(X: np.ndarray, edges: list[np.ndarray]) -> np.ndarray:
    """Each value replaced by its bin number under `edges` (NaN stays NaN)."""
    X = np.asarray(X, dtype=float)
    out = np.empty_like(X)
    for j, e in enumerate(edges):
        col = X[:, j]
        out[:, j] = np.where(np.isnan(col), np.nan, np.searchsorted(e, col, side="left"))
    return out


def informative_columns(X: np.ndarray) -> np.ndarray:
    """Columns with at least two distinct finite values (book features are all NaN on data
    without a book; such columns carry nothing, and they trip the trees' binning)."""
    keep = np.array([np.unique(col[np.isfinite(col)]).size >= 2 for col in np.asarray(X).T],
                    dtype=bool)
    return keep if keep.any() else np.ones(np.asarray(X).shape[1], dtype=bool)


class RegimeClassifier(ClassifierMixin, BaseEstimator):
    """Gradient-boosted trees predicting the regime at t from features known at t.

    learning_rate, max_iter, max_leaf_nodes, min_samples_leaf: passed to the boosting model;
    balanced: weight classes inversely to their frequency; random_state: seed."""

    def __init__(self, learning_rate: float = 0.1, max_iter: int = 150, max_leaf_nodes: int = 31,
                 min_samples_leaf: int = 20, balanced: bool = True, random_state: int = 0):
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.balanced = balanced
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def fit(self, X, y):
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan")
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        self.model_ = HistGradientBoostingClassifier(
            learning_rate=self.learning_rate, max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes, min_samples_leaf=self.min_samples_leaf,
            class_weight="balanced" if self.balanced else None, early_stopping=False,
            random_state=self.random_state)
        self.prior_ = np.bincount(encoded, minlength=self.classes_.shape[0]) / encoded.shape[0]
        self.columns_ = np.array([np.unique(c[np.isfinite(c)]).size >= 2 for c in X.T],
                                 dtype=bool)
        if self.classes_.shape[0] == 1 or not self.columns_.any():
            # one class, or no input that varies (e.g. book columns on data without a book):
            # the class frequencies are all there is to say
            self.constant_ = True
            self.n_iter_ = 0
            return self
        self.constant_ = False
        self.edges_ = bin_edges(X[:, self.columns_])
        self.model_.fit(quantize(X[:, self.columns_], self.edges_), encoded)
        self.n_iter_ = self.model_.n_iter_
        return self

    def predict_proba(self, X):
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        if self.constant_:
            return np.tile(self.prior_, (X.shape[0], 1))
        return self.model_.predict_proba(quantize(X[:, self.columns_], self.edges_))

    def predict(self, X):
        check_is_fitted(self, "model_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
