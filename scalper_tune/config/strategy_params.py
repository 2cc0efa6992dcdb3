"""The strategy's tunable parameters: one table, the single source of truth for names, kinds,
bounds, units and defaults (used by search spaces and `--params` files)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ParamSpec:
    """kind: "int", "float", "bool" or "choice"; low/high inclusive bounds for numbers; required: a
    parameter file must give it (parameters added later with a neutral default are optional, so
    older files keep loading)."""

    name: str
    kind: str
    default: object
    unit: str
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    required: bool = True

    def problem(self, value: object) -> str | None:
        """Why `value` is not valid for this parameter, or None."""
        if self.kind == "bool":
            return None if isinstance(value, bool) else f"must be true or false, got {value!r}"
        if self.kind == "choice":
            if value not in self.choices:
                return f"must be one of {', '.join(self.choices)}, got {value!r}"
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number, got {value!r}"
        if self.kind == "int" and not float(value).is_integer():
            return f"must be a whole number, got {value!r}"
        if not self.low <= value <= self.high:
            return f"must be between {self.low:g} and {self.high:g} ({self.unit}), got {value!r}"
        return None


PARAMS: dict[str, ParamSpec] = {p.name: p for p in (
    ParamSpec("z_window", "int", 40, "bars", "window of the price z-score and the OU fit", 5, 5000),
    ParamSpec("entry_z", "float", 2.0, "std devs", "|price z-score| needed to enter", 0.25, 10.0),
    ParamSpec("vol_z_min", "float", 1.0, "std devs",
              "volatility-clustering z-score needed on the agreeing timeframes", -5.0, 10.0),
    ParamSpec("imbalance_min", "float", 0.1, "fraction",
              "book imbalance leaning toward the reversion (ignored without a book)", 0.0, 1.0),
    ParamSpec("ou_exit_frac", "float", 0.25, "fraction",
              "exit when the deviation from the OU mean shrinks to this share of entry", 0.0, 1.0),
    ParamSpec("stop_loss", "float", 0.01, "fraction of entry price", "stop-loss distance",
              0.0001, 0.5),
    ParamSpec("side", "choice", "both", "-", "which side to trade", choices=("long", "short", "both")),
    ParamSpec("max_hold", "int", 240, "bars", "time-stop cap on the holding period", 1, 100_000),
    ParamSpec("hold_half_lives", "float", 3.0, "OU half-lives",
              "time stop after this many OU half-lives (capped by max_hold)", 0.1, 100.0),
    ParamSpec("base_position", "float", 0.5, "fraction of sleeve equity",
              "position notional at |z| = entry_z; grows with |z| / entry_z", 0.001, 10.0),
    ParamSpec("max_position", "float", 1.0, "fraction of sleeve equity",
              "cap on the position notional (1 = no leverage)", 0.001, 10.0),
    ParamSpec("cross_venue_z", "float", 0.0, "std devs",
              "where the asset trades on a second venue: no entry while that venue shows a "
              "liquidity gap or the basis z-score against it reaches this (0: off)", 0.0, 20.0,
              required=False),
    ParamSpec("flat_at_close", "bool", True, "-",
              "session symbols (stocks): close every position at the last bar of the session, at "
              "its close (exit reason session_close); no effect on 24/7 symbols", required=False),
    ParamSpec("no_entry_last_bars", "int", 5, "bars",
              "session symbols: no new entry in the session's last N bars (0: off); no effect "
              "on 24/7 symbols", 0, 10_000, required=False),
)}


def default_params() -> dict[str, object]:
    """Every parameter at its documented default."""
    return {name: spec.default for name, spec in PARAMS.items()}


def check_params(values: dict[str, object], origin: str) -> dict[str, object]:
    """Validate a complete or partial parameter mapping; returns defaults updated with it."""
    from scalper_tune.config.schema import did_you_mean
    from scalper_tune.errors import ConfigError

    out = default_params()
    for name, value in values.items():
        if name not in PARAMS:
            raise ConfigError(f"{origin}: {name}: unknown parameter{did_you_mean(str(name), PARAMS)}")
        problem = PARAMS[name].problem(value)
        if problem:
            raise ConfigError(f"{origin}: {name}: {problem}.")
        out[name] = int(value) if PARAMS[name].kind == "int" else (
            float(value) if PARAMS[name].kind == "float" else value)
    return out
