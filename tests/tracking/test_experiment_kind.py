"""Two runs started at once in a fresh store may both insert the experiment's kind tag; SQLite
refuses the second insert (seen in CI: UNIQUE constraint failed). The run that finds the tag set
by the other goes on; a refusal that leaves the tag unset is still raised."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from mlflow.exceptions import MlflowException

from scalper_tune.tracking.pipeline_log import EXPERIMENT_KIND, PipelineTracker


class RacingClient:
    """set_experiment_tag raises as SQLite does when another writer inserted first."""

    def __init__(self, other_wrote: bool):
        self.tags: dict = {}
        self.other_wrote = other_wrote

    def get_experiment(self, experiment_id):
        return SimpleNamespace(tags=dict(self.tags))

    def set_experiment_tag(self, experiment_id, key, value):
        if self.other_wrote:
            self.tags[key] = value
        raise MlflowException("UNIQUE constraint failed: experiment_tags.key")


def tracker(client) -> SimpleNamespace:
    return SimpleNamespace(t=SimpleNamespace(client=client, experiment_id="1"))


def test_the_tag_set_by_a_concurrent_run_is_accepted():
    client = RacingClient(other_wrote=True)
    PipelineTracker._tag_kind(tracker(client))
    assert client.tags == {EXPERIMENT_KIND[0]: EXPERIMENT_KIND[1]}
    PipelineTracker._tag_kind(tracker(client))  # set already: nothing to do


def test_a_refusal_that_leaves_the_tag_unset_is_raised():
    with pytest.raises(MlflowException):
        PipelineTracker._tag_kind(tracker(RacingClient(other_wrote=False)))
