"""Paper and live trading: an event-at-a-time runner with the backtest's own strategy step."""
