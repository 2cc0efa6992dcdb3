"""The only MLflow code: runs, parameters, metrics, artifacts and plots."""
