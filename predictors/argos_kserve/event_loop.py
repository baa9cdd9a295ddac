"""KServe's `--event_loop` for the loop that actually serves.

ModelServer hands the choice to uvicorn's config, but then serves with `asyncio.run`, which
ignores it: without this the predictor runs on the standard asyncio loop even when uvloop (in
the image, and faster per request) is installed. `auto` means uvloop when importable.
"""

from __future__ import annotations

import asyncio
import logging

logger = logging.getLogger("argos_kserve")


def use_event_loop(choice: str) -> None:
    if choice == "asyncio":
        logger.info("event=event_loop loop=asyncio")
        return
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise
        logger.info("event=event_loop loop=asyncio reason=uvloop_not_installed")
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    # ModelServer.start() configures `asyncio.get_event_loop()` before `asyncio.run()`; unlike
    # asyncio's, uvloop's policy does not make that loop on demand.
    asyncio.set_event_loop(asyncio.new_event_loop())
    logger.info("event=event_loop loop=uvloop")
