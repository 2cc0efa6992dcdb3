"""The live runner: receives bars one at a time (as a live feed delivers them), keeps rolling
feature state per symbol, calls the backtest's strategy step, and sends orders to an in-memory
paper broker with the same cost model. Replaying a dataset through it must give exactly the
backtest's trades (the parity test).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Mapping

import numpy as np

from scalper_tune.features import Features
from scalper_tune.config.costs import CostModel
from scalper_tune.config.feature_spec import FeatureSpec
from scalper_tune.data.bar_builder import Bar
from scalper_tune.data.calendars import session_of
from scalper_tune.data.market import MarketData, NS_PER_SECOND
from scalper_tune.engine.backtest import SymbolRun, total_equity, trades_frame
from scalper_tune.engine.inputs import (ENTRY_MASK, REGIME_LABEL, cost_vector, cross_signal,
                                        param_vector)
from scalper_tune.engine.regime_sets import Switching
from scalper_tune.engine.metrics import compute_metrics
from scalper_tune.kernels.engine_nb import (broker_step_nb, mark_nb,
                                            new_state_nb, session_close_nb, strategy_step_nb)
from scalper_tune.kernels.layout import N_TRADE, S
from scalper_tune.kernels.online_nb import (N_OUT, O_HALF, O_IMB, O_MU, O_VOLZ, O_Z, init_nb,
                                            online_step_nb)


@dataclass(frozen=True)
class BarEvent(Bar):
    """One closed bar of one symbol, as a feed delivers it (the bar builder's Bar: ts = bar
    open time, ns UTC)."""

    symbol: str = ""


def replay(market: MarketData) -> Iterator[BarEvent]:
    """The dataset as a feed: bars of all symbols in time order (ties in symbol order)."""
    order = []
    for i, symbol in enumerate(market.symbols):
        order.append(np.stack([market[symbol].ts, np.full(len(market[symbol]), i),
                               np.arange(len(market[symbol]))], axis=1))
    merged = np.concatenate(order)
    merged = merged[np.lexsort((merged[:, 1], merged[:, 0]))]
    cols = {s: market[s].columns() for s in market.symbols}
    nan = np.full(1, np.nan)
    for ts, i, k in merged:
        symbol = market.symbols[i]
        c = cols[symbol]
        book = [float(c[b][k]) if b in c else float(nan[0])
                for b in ("bid", "ask", "bid_size", "ask_size")]
        yield BarEvent(int(ts), float(c["open"][k]), float(c["high"][k]), float(c["low"][k]),
                       float(c["close"][k]), float(c["volume"][k]), *book, symbol=symbol)


def bar_half_spread(bar: Bar, spread_mult: float) -> float:
    """The bar's closing half-spread as a fraction of the mid, x spread_mult; 0 without a book
    (as `engine.inputs.half_spread` for a whole column)."""
    hs = (bar.ask - bar.bid) / (bar.bid + bar.ask) * spread_mult
    return float(hs) if np.isfinite(hs) else 0.0


class OnlineFeatures:
    """Rolling feature state of one symbol (the same step kernels as the batch features)."""

    def __init__(self, spec: FeatureSpec, z_window: int, bar_seconds: int):
        bar_ns = bar_seconds * NS_PER_SECOND
        self.layout = np.array([z_window, spec.vol_window, spec.baseline_window,
                                len(spec.timeframes), bar_ns]
                               + [m * bar_ns for m in spec.timeframes], dtype=np.int64)
        self.fs, self.rg = init_nb(self.layout)
        self.out = np.zeros(N_OUT)

    def update(self, bar: BarEvent, session: float = float("nan")) -> np.ndarray:
        """Feed one bar (`session`: its session's id; NaN for 24/7); returns the outputs."""
        online_step_nb(self.fs, self.rg, self.layout, bar.ts, bar.close, bar.bid_size,
                       bar.ask_size, session, self.out)
        return self.out


class PaperBroker:
    """An in-memory broker for one sleeve: fills orders with the shared cost model."""

    def __init__(self, capital: float, params: np.ndarray, costs: np.ndarray,
                 spread_mult: float):
        self.state = new_state_nb(capital)
        self.params, self.costs, self.spread_mult = params, costs, spread_mult
        self.trade = np.zeros(N_TRADE)
        self.trades: list[np.ndarray] = []
        self.prev_book = (0.0, np.nan, np.nan)  # half-spread, bid size, ask size

    def on_bar(self, t: int, bar: BarEvent, params: np.ndarray | None = None) -> None:
        """Fills of this bar (`params`: the parameter set in force, default the broker's)."""
        hs, bsz, asz = self.prev_book
        p = self.params if params is None else params
        if broker_step_nb(self.state, self.trade, t, bar.open, bar.high, bar.low, hs, bsz, asz,
                          p, self.costs):
            self.trades.append(self.trade.copy())
        self.prev_book = (bar_half_spread(bar, self.spread_mult), bar.bid_size, bar.ask_size)


@dataclass
class _Sleeve:
    features: dict[int, OnlineFeatures]  # by z_window
    broker: PaperBroker
    t: int = 0
    equity: list[float] = field(default_factory=list)
    in_position: list[bool] = field(default_factory=list)


class LiveRunner:
    """Routes each event to its symbol's features, the strategy step and the paper broker."""

    def __init__(self, symbols: tuple[str, ...], bar_seconds: int, params: Mapping[str, object],
                 costs: CostModel = CostModel(), account: float = 1000.0,
                 spec: FeatureSpec = FeatureSpec(), switching: Switching | None = None,
                 calendars: Mapping[str, str] | None = None):
        """`switching`: per-regime parameter sets (then `params` is unused and each event names
        the set in force, see `on_event`); `calendars`: each symbol's trading calendar (default
        24/7; a session calendar brings the overnight rule and the session rules)."""
        self.symbols, self.bar_seconds, self.account = symbols, bar_seconds, account
        self.calendars = {s: (calendars or {}).get(s, "24/7") for s in symbols}
        self.spread_mult = costs.spread_mult
        sets = [params] if switching is None else list(switching.sets)
        self.P = np.stack([param_vector(p) for p in sets])
        self.windows = [int(p["z_window"]) for p in sets]
        self.p, self.c = self.P[0], cost_vector(costs)
        capital = account / len(symbols)
        self.sleeves = {s: _Sleeve({w: OnlineFeatures(spec, w, bar_seconds)
                                    for w in sorted(set(self.windows))},
                                   PaperBroker(capital, self.p, self.c, costs.spread_mult))
                        for s in symbols}

    def on_event(self, bar: BarEvent, allow: bool = True, cross: float = float("nan"),
                 pset: int = 0) -> None:
        """Handle one closed bar: fills at its open and inside it, then the decision at its
        close, with parameter set `pset` (0 unless switching)."""
        sleeve = self.sleeves[bar.symbol]
        t = sleeve.t
        p = self.P[pset]
        sleeve.broker.on_bar(t, bar, p)
        session, left = session_of(self.calendars[bar.symbol], bar.ts,
                                   self.bar_seconds * NS_PER_SECOND)
        outs = {w: of.update(bar, session) for w, of in sleeve.features.items()}
        f = outs[self.windows[pset]]
        state = sleeve.broker.state
        strategy_step_nb(state, t, bar.close, f[O_Z], f[O_VOLZ], f[O_IMB], allow, f[O_MU],
                         f[O_HALF], cross, float(left), p, self.c)
        broker = sleeve.broker
        if left == 1 and session_close_nb(  # the session's last bar: flat_at_close
                state, broker.trade, t, bar.close, bar_half_spread(bar, self.spread_mult),
                bar.bid_size, bar.ask_size, float(left), p, self.c):
            broker.trades.append(broker.trade.copy())
        mark_nb(state, bar.close, -1)
        sleeve.equity.append(state[S.equity])
        sleeve.in_position.append(state[S.dir] != 0.0)
        sleeve.t = t + 1

    def runs(self) -> dict[str, SymbolRun]:
        out = {}
        for symbol, sleeve in self.sleeves.items():
            trades = np.array(sleeve.broker.trades).reshape(-1, N_TRADE)
            out[symbol] = SymbolRun(trades=trades, equity=np.array(sleeve.equity),
                                    in_position=np.array(sleeve.in_position, dtype=bool),
                                    open_position=None, state=sleeve.broker.state.copy())
        return out


def paper_replay(market: MarketData, params: Mapping[str, object], costs: CostModel = CostModel(),
                 account: float = 1000.0, spec: FeatureSpec = FeatureSpec(),
                 gate: Features | None = None,
                 switching: Switching | None = None):
    """Replay `market` through a LiveRunner; returns (trades table, equity, metrics).

    `gate`: per symbol, features holding the entry mask (`allow_entry`) and the cross-venue
    signal inputs of a strategy bundle (computed causally over the replayed data, as the
    backtest reads them); each event gets its bar's values. Without it every entry is allowed
    and there is no cross-venue signal. `switching` (with `gate`, whose regime labels pick the
    set of each bar): the per-regime sets of a switching strategy."""
    runner = LiveRunner(market.symbols, market.bar_seconds, params, costs, account, spec,
                        switching, {s: market.calendar(s) for s in market.symbols})
    allow = cross = pset = None
    if gate is not None:
        n = {s: len(market[s]) for s in market.symbols}
        allow = {s: (np.asarray(gate[s][ENTRY_MASK]) > 0.5 if ENTRY_MASK in gate[s]
                     else np.ones(n[s], dtype=bool)) for s in market.symbols}
        cross = {s: cross_signal(gate[s], n[s]) for s in market.symbols}
        pset = {s: np.zeros(n[s], dtype=np.int64) for s in market.symbols}
        if switching is not None:
            for s in market.symbols:
                pset[s], has_set = switching.per_bar(
                    gate[s].get(REGIME_LABEL, np.full(n[s], np.nan)))
                allow[s] = allow[s] & has_set
    for event in replay(market):
        if allow is None:
            runner.on_event(event)
        else:
            s, t = event.symbol, runner.sleeves[event.symbol].t
            runner.on_event(event, bool(allow[s][t]), float(cross[s][t]), int(pset[s][t]))
    runs = runner.runs()
    trades = trades_frame(market, runs)
    equity = total_equity(market, runs, account / len(market.symbols))
    return trades, equity, compute_metrics(trades, equity, runs, market, account)
