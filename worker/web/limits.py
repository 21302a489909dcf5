"""A rate limit on the addresses that carry secrets: the agency feeds and the digest links.

Guessing a token needs very many requests; a calendar client or a reader needs a few. Each
client address gets `rate_limit` requests (a moving window, the `limits` library) on these
routes; past it the answer is 429 with Retry-After. The counts live in the process, so with
several server processes each counts on its own: the limit is a brake, not an exact quota.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from worker.web.context import problem

LIMITED = ("/feeds/agency/", "/links/")


class RateLimit:
    def __init__(self, app: ASGIApp, rate: str) -> None:
        self.app = app
        self.rate: RateLimitItem = parse(rate)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(LIMITED):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        who = client[0] if client else "-"
        if self.limiter.hit(self.rate, who):
            await self.app(scope, receive, send)
            return
        reset = self.limiter.get_window_stats(self.rate, who).reset_time
        # The library keeps its windows on the real clock, so Retry-After is measured on that
        # clock too: App.now() may be set to another day (a demonstration, a test) and would
        # make the wait meaningless. Elapsed time between requests is not the business date.
        wait = max(1, math.ceil(reset - time.time()))
        response = problem(
            429,
            "Too many requests",
            "This address has been asked for too often from your network just now.",
            f"Please try again in {wait} seconds.",
        )
        response.headers["retry-after"] = str(wait)
        await response(scope, receive, send)
