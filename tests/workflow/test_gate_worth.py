"""What the entry gate is worth: the chosen configuration on validation and test without a
gate, with the regime filter only and as run, in best_config.yaml, the summary and MLflow
(issue 28 item 11)."""

from __future__ import annotations

import yaml

from scalper_tune.workflow.gate_worth import VARIANTS


def test_best_config_shows_the_gates_worth_per_segment(smoke_run):
    best = yaml.safe_load((smoke_run / "best_config.yaml").read_text())
    gates = best["meta"]["gates"]
    assert set(gates) == {"validation", "test"}
    for seg in gates.values():
        assert set(seg) == set(VARIANTS)
        for figures in seg.values():
            assert set(figures) == {"sharpe", "return", "trades", "max_drawdown"}
    # the "as run" figures are the chosen configuration's own
    assert gates["validation"]["as_run"]["trades"] == best["meta"]["validation"]["trades"]
    assert gates["test"]["as_run"]["trades"] == best["meta"]["test"]["trades"]


def test_the_gates_worth_is_in_mlflow(smoke_run):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{smoke_run.parents[2] / 'mlruns' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("smoke")
    (parent,) = [r for r in client.search_runs([exp.experiment_id])
                 if r.info.run_name == smoke_run.name]
    for seg in ("validation", "test"):
        for variant in VARIANTS:
            assert f"gate_{seg}_{variant}_trades" in parent.data.metrics
