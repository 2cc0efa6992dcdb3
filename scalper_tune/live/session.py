"""A live paper session: raw frames -> per-symbol bars (the importer's bar builder, on the
receiver's clock) -> the live runner (the backtest's strategy step) -> the paper broker.

Every frame is checked before it touches any state: a frame that is not JSON, a trade or quote
with missing or non-numeric fields, a stream of a symbol not traded, and a trade whose exchange
time goes back are counted and skipped; other streams of a traded symbol (depth) only move its
clock, as in the importer. A bar closed after a silence of `stale_after_ns` (no
message of its symbol before its end) or across a lost connection allows no new entry; open
positions keep their stops, which the engine checks on the next real prices.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import pandas as pd

from scalper_tune.data.bar_builder import Bar, BarBuilder, bars_to_columns, is_stale
from scalper_tune.data.importers.binance_stream import feed, parse_message
from scalper_tune.data.market import MarketData, NS_PER_SECOND, SymbolData
from scalper_tune.engine.backtest import EXIT_REASONS, trades_frame
from scalper_tune.kernels.layout import S, T
from scalper_tune.live.gate import OnlineGate
from scalper_tune.live.runner import BarEvent, LiveRunner, replay


@dataclass
class SessionCounts:
    frames: int = 0
    control: int = 0  # frames without a stream (subscription replies, snapshots)
    skipped: Counter = field(default_factory=Counter)  # reason -> frames
    gaps: list[tuple[int, int, str]] = field(default_factory=list)
    stale_periods: int = 0
    blocked_bars: int = 0  # bars on which entries were blocked (stale or gap)
    gate_closed: int = 0  # bars on which the strategy's entry gate allowed no entry


class LiveSession:
    """Routes frames of `symbols` (exchange names, e.g. BTCUSDT) into bars and the runner;
    `say` gets one line per fill and per status."""

    def __init__(self, runner: LiveRunner, symbols: Sequence[str], bar_ns: int,
                 stale_after_ns: int, say: Callable[[str], None] = print,
                 status_every_ns: int = 60 * NS_PER_SECOND, gate: OnlineGate | None = None):
        """`gate`: a strategy bundle's entry gate (regime labels, blocked regimes, ML gate,
        the parameter set of a switching strategy), evaluated on every session bar."""
        self.runner, self.bar_ns, self.stale_after_ns = runner, bar_ns, stale_after_ns
        self.gate = gate
        self.builders = {s: BarBuilder(bar_ns) for s in symbols}
        self.bars: dict[str, list[Bar]] = {s: [] for s in symbols}
        self.last_exchange_t = {s: -1 for s in symbols}
        self.counts = SessionCounts()
        self.say, self.status_every_ns = say, status_every_ns
        self.next_status: int | None = None
        self.history: list[tuple[float, int]] = []
        self.fills_seen = {s: 0 for s in symbols}
        self.was_open = {s: False for s in symbols}
        self.warm: dict[str, list[Bar]] = {s: [] for s in symbols}

    def warm_up(self, market: MarketData) -> int:
        """Feed a dataset of the same symbols and bar size, ending before the session, through
        the runner with entries blocked (it fills the rolling feature state); returns bars."""
        for event in replay(market):
            self.runner.on_event(event, False)
            self.warm[event.symbol].append(event)
            if self.gate is not None:
                self.gate.warm(event.symbol, event)
        return sum(len(b) for b in self.warm.values())

    def on_frame(self, t: int, raw: str | bytes) -> None:
        self.counts.frames += 1
        try:
            parsed = parse_message(json.loads(raw))
        except (ValueError, UnicodeDecodeError):
            self.counts.skipped["not JSON"] += 1
            return
        if parsed is None:  # a control reply or a REST snapshot: expected, not a fault
            self.counts.control += 1
            return
        symbol, kind, data = parsed
        if symbol not in self.builders:
            self.counts.skipped["unknown stream"] += 1
            return
        if kind == "trade":
            exchange_t = data.get("T")
            try:
                float(data["p"]), float(data["q"])
            except (KeyError, TypeError, ValueError):
                exchange_t = None
            if not isinstance(exchange_t, int):
                self.counts.skipped["malformed"] += 1
                return
            if exchange_t < self.last_exchange_t[symbol]:
                self.counts.skipped["out of order"] += 1
                return
        try:
            bars, _ = feed(self.builders[symbol], t, kind, data)
        except (KeyError, TypeError, ValueError):
            self.counts.skipped["malformed"] += 1
            return
        if kind == "trade":
            self.last_exchange_t[symbol] = exchange_t
        for bar in bars:
            self._on_bar(symbol, bar)
        self._status(t)

    def on_gap(self, lost: int, back: int, why: str) -> None:
        self.counts.gaps.append((lost, back, why))
        for builder in self.builders.values():
            builder.mark_gap()
        self.say(f"reconnected after {(back - lost) / 1e9:.1f} s without data ({why}); bars "
                 "spanning the gap are marked, none invented")

    def on_stale(self, t: int) -> None:
        self.counts.stale_periods += 1
        self.say(f"stale feed: no message for {self.stale_after_ns / 1e9:g} s; new entries "
                 "blocked until fresh data arrives")

    def finish(self) -> None:
        """Close every symbol's bar in progress (the end of the session)."""
        for symbol, builder in self.builders.items():
            for bar in builder.flush():
                self._on_bar(symbol, bar)

    def _on_bar(self, symbol: str, bar: Bar) -> None:
        self.bars[symbol].append(bar)
        allow = not (bar.gap or is_stale(bar, self.bar_ns, self.stale_after_ns))
        self.counts.blocked_bars += not allow
        pset = 0
        if self.gate is not None:
            gate_allows, _, pset = self.gate.on_bar(symbol, bar)
            self.counts.gate_closed += not gate_allows
            allow = allow and gate_allows
        self.runner.on_event(BarEvent(**vars(bar), symbol=symbol), allow, float("nan"), pset)
        self._say_fills(symbol, bar)

    def _say_fills(self, symbol: str, bar: Bar) -> None:
        """One line per fill: an entry (the position appeared) or an exit (a trade closed)."""
        sleeve = self.runner.sleeves[symbol]
        when = pd.Timestamp(bar.ts + self.bar_ns, unit="ns", tz="UTC").strftime("%H:%M:%S")
        for row in sleeve.broker.trades[self.fills_seen[symbol]:]:
            self.say(f"{when} fill {symbol}: exit {'long' if row[T.dir] > 0 else 'short'} "
                     f"at {row[T.exit_px]:.6g} ({EXIT_REASONS.get(int(row[T.reason]), '?')}), "
                     f"pnl {row[T.pnl]:+.4f} $")
        self.fills_seen[symbol] = len(sleeve.broker.trades)
        state = sleeve.broker.state
        now_open = bool(state[S.dir] != 0.0)
        if now_open and not self.was_open[symbol]:
            self.say(f"{when} fill {symbol}: entry {'long' if state[S.dir] > 0 else 'short'} "
                     f"{state[S.qty]:.6g} at {state[S.entry_px]:.6g}")
        self.was_open[symbol] = now_open

    def _status(self, t: int) -> None:
        if self.next_status is None:
            self.next_status = t + self.status_every_ns
        if t < self.next_status:
            return
        self.next_status = t + self.status_every_ns
        self.snapshot()
        self.say(self.status_line())

    def snapshot(self) -> None:
        """Record (equity $, fills so far) for the session's MLflow run."""
        fills = sum(len(s.broker.trades) for s in self.runner.sleeves.values())
        self.history.append((self.equity(), fills))

    def status_line(self) -> str:
        skipped = sum(self.counts.skipped.values())
        return (f"status: {sum(len(b) for b in self.bars.values())} bars, "
                f"{len(self.open_positions())} open position(s), equity {self.equity():.2f} $, "
                f"{len(self.counts.gaps)} reconnect(s), {skipped} frame(s) skipped"
                + ("" if self.gate is None else
                   f", gate closed on {self.counts.gate_closed} bar(s)")
                + (f" ({_reasons(self.counts.skipped)})" if skipped else ""))

    def bars_market(self, with_warmup: bool = False) -> MarketData:
        """The bars built in the session (with the warm-up bars before them) as a dataset."""
        series = {}
        for symbol, bars in self.bars.items():
            every = (self.warm[symbol] if with_warmup else []) + bars
            if every:
                series[symbol] = SymbolData(symbol=symbol, **bars_to_columns(every, True))
        return MarketData(bar_seconds=self.bar_ns // NS_PER_SECOND, series=series,
                          source="live")

    def trades(self) -> pd.DataFrame:
        """The closed trades (the backtest's columns)."""
        market = self.bars_market(with_warmup=True)
        runs = {s: r for s, r in self.runner.runs().items() if s in market.symbols}
        return trades_frame(market, runs)

    def open_positions(self) -> list[str]:
        out = []
        for symbol, sleeve in self.runner.sleeves.items():
            state = sleeve.broker.state
            if state[S.dir] != 0.0:
                out.append(f"{symbol} {'long' if state[S.dir] > 0 else 'short'} "
                           f"{state[S.qty]:.6g} from {state[S.entry_px]:.6g}")
        return out

    def equity(self) -> float:
        """Total equity of the sleeves now, $ (marked at the last close)."""
        runs = self.runner.runs()
        capital = self.runner.account / len(runs)
        return sum(float(r.equity[-1]) if len(r.equity) else capital for r in runs.values())


def _reasons(skipped: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {why}" for why, n in sorted(skipped.items()))
