"""The pipeline, Ray-free: the run order (`run_pipeline`), the phases on an `Executor`
(`LocalExecutor` here; the Tune executor in `scalper_tune.tune`) and a `Tracker` (MLflow in
`scalper_tune.tracking`; `NullTracker`)."""

from scalper_tune.pipeline.chain import RunResult, check_inputs, open_folder, run_pipeline
from scalper_tune.pipeline.executor import Executor, MapPhase, SearchPhase, TrialRecord
from scalper_tune.pipeline.local import LocalExecutor
from scalper_tune.pipeline.run_folder import RunFolder
from scalper_tune.pipeline.tracker import NullTracker, Tracker

__all__ = ["Executor", "LocalExecutor", "MapPhase", "NullTracker", "RunFolder", "RunResult",
           "SearchPhase", "Tracker", "TrialRecord", "check_inputs", "open_folder",
           "run_pipeline"]
