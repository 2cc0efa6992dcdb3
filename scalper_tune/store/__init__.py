"""Stored work: one key recipe (data hash + settings + a hash of the code that computes it) and
atomic writes, used by the feature cache, Phase 1 chunks, refinement folds and Phase 2/3 jobs."""

from scalper_tune.store.atomic import atomic_json, atomic_parquet, atomic_text
from scalper_tune.store.keys import code_version, sub_key, work_key
from scalper_tune.store.work import WorkStore

__all__ = ["WorkStore", "atomic_json", "atomic_parquet", "atomic_text", "code_version",
           "work_key"]
