"""A combined-stream WebSocket client that survives a real feed: reconnects with capped
exponential backoff and jitter (and resubscribes: the streams are in the URL), reports each gap,
flags a stale feed (no message for `stale_after_s`) and hands every raw frame, stamped with the
receiver's clock, to the session. It never parses: malformed frames are the session's to count.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidURI, WebSocketException

from scalper_tune.errors import UsageError

BINANCE_SPOT = "wss://stream.binance.com:9443/stream"
STREAMS = ("bookTicker", "trade")


def stream_url(base: str, symbols: Sequence[str]) -> str:
    """`<base>?streams=<sym>@bookTicker/<sym>@trade/...` (symbols in lower case)."""
    streams = "/".join(f"{s.lower()}@{kind}" for s in symbols for kind in STREAMS)
    return f"{base}?streams={streams}"


@dataclass
class FeedEvents:
    """What the feed reports to its session (all times: receiver's clock, ns)."""

    on_frame: Callable[[int, str | bytes], None]
    on_gap: Callable[[int, int, str], None]  # (lost at, back at, why)
    on_stale: Callable[[int], None]  # no message for stale_after_s (once per silence)


@dataclass
class FeedState:
    connects: int = 0
    reconnects: int = 0
    stale_periods: int = 0
    errors: list[str] = field(default_factory=list)


async def run_feed(url: str, events: FeedEvents, stop: asyncio.Event, *,
                   stale_after_s: float = 10.0, backoff_s: tuple[float, float] = (0.5, 10.0),
                   clock: Callable[[], int] = time.time_ns, seed: int = 0) -> FeedState:
    """Receive until `stop` is set. A failed connect or a dropped connection waits
    min(cap, base x 2^attempt) x U(0.5, 1) before the next try; the attempt count resets once
    a connection delivers a frame. Returns the counts."""
    state = FeedState()
    rng = np.random.default_rng(seed)  # the jitter (reproducible)
    attempt = 0
    lost: int | None = None
    why = ""
    while not stop.is_set():
        try:
            async with connect(url, open_timeout=10, ping_interval=20, ping_timeout=20,
                               close_timeout=2,
                               max_size=2 ** 20) as ws:
                state.connects += 1
                silent = False
                while not stop.is_set():
                    recv = asyncio.ensure_future(ws.recv())
                    halt = asyncio.ensure_future(stop.wait())
                    done, _ = await asyncio.wait({recv, halt}, timeout=stale_after_s,
                                                 return_when=asyncio.FIRST_COMPLETED)
                    halt.cancel()
                    if recv not in done:
                        recv.cancel()
                        if not done and not silent:  # silence, not a stop
                            silent = True
                            state.stale_periods += 1
                            events.on_stale(clock())
                        continue
                    frame = recv.result()  # ConnectionClosed raises here
                    now = clock()
                    if lost is not None:
                        events.on_gap(lost, now, why)
                        lost = None
                    attempt, silent = 0, False
                    events.on_frame(now, frame)
        except (InvalidURI, InvalidHandshake) as exc:
            if state.connects == 0 and attempt >= 3:  # not a flaky network: a wrong address
                raise UsageError(f"url {url.split('?')[0]}: no WebSocket stream there "
                                 f"({type(exc).__name__}: {exc}); check the address.",
                                 param="url") from None
            why = f"{type(exc).__name__}: {exc}"
        except (WebSocketException, OSError, asyncio.TimeoutError) as exc:
            why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if stop.is_set():
            break
        if lost is None:
            lost = clock()
        state.reconnects += 1
        state.errors.append(why)
        delay = min(backoff_s[1], backoff_s[0] * 2 ** attempt) * (0.5 + float(rng.random()) / 2)
        attempt += 1
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
        except asyncio.TimeoutError:
            pass
    return state
