"""One live paper session from start to stop: the feed, the session, Ctrl-C / SIGTERM /
--duration as a clean stop (the session's bars in progress are closed, nothing is lost)."""

from __future__ import annotations

import asyncio
import signal

from scalper_tune.live.feed import FeedEvents, FeedState, run_feed
from scalper_tune.live.session import LiveSession


async def run_session(session: LiveSession, url: str, *, duration_s: float | None = None,
                      stale_after_s: float = 10.0,
                      backoff_s: tuple[float, float] = (0.5, 10.0)) -> FeedState:
    """Run until `duration_s` passes or SIGINT/SIGTERM arrives; returns the feed's counts."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            pass
    timer = loop.call_later(duration_s, stop.set) if duration_s else None
    events = FeedEvents(session.on_frame, session.on_gap, session.on_stale)
    try:
        return await run_feed(url, events, stop, stale_after_s=stale_after_s,
                              backoff_s=backoff_s)
    finally:
        if timer is not None:
            timer.cancel()
        for sig in handled:
            loop.remove_signal_handler(sig)
        session.finish()
