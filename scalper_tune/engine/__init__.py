"""Strategy parameters, the event-driven backtest, the vectorized prefilter and the metrics."""
