"""Request guards shared by the web pages: is a state-changing request from our own pages, and may this address
still try to sign in."""
from __future__ import annotations

import time
from collections import defaultdict, deque
from urllib.parse import urlsplit

from aiohttp import web

LOGIN_FAILURES = 5              # failed sign-ins per address …
LOGIN_WINDOW = 10 * 60          # … within this many seconds, then 429 until the oldest failure is older
# Sec-Fetch-Site values a browser sends for a request our own page made (or the user typed/bookmarked)
OWN = ("same-origin", "none")


def same_origin(request: web.Request, public_url: str = "") -> bool:
    """False when a browser says the request came from another site (a cross-site request forgery).

    Browsers since 2020–2023 send `Sec-Fetch-Site` on every request, and `Origin` on every cross-origin POST; a
    request with neither is not from a browser page (curl, a script, the tests) and cannot carry a victim's
    cookies, so it passes.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in OWN
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    if origin == "null":        # sandboxed frames, file:// pages, some redirects: never our page
        return False
    host = urlsplit(origin).netloc.lower()
    allowed = {request.host.lower(), request.headers.get("X-Forwarded-Host", "").lower()}
    if public_url:
        allowed.add(urlsplit(public_url).netloc.lower())
    return host in allowed - {""}


class LoginLimiter:
    """Failed sign-ins per client address, in memory: after LOGIN_FAILURES within LOGIN_WINDOW, wait."""

    def __init__(self, failures: int = LOGIN_FAILURES, window: float = LOGIN_WINDOW, clock=time.monotonic):
        self.failures, self.window, self.clock = failures, window, clock
        self._seen: dict[str, deque] = defaultdict(deque)

    def _recent(self, address: str) -> deque:
        seen, now = self._seen[address], self.clock()
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        return seen

    def retry_after(self, address: str) -> int:
        """Seconds until this address may try again; 0 when it may try now."""
        seen = self._recent(address)
        if len(seen) < self.failures:
            if not seen:
                self._seen.pop(address, None)
            return 0
        return max(1, int(seen[0] + self.window - self.clock()) + 1)

    def failed(self, address: str) -> None:
        self._recent(address).append(self.clock())

    def succeeded(self, address: str) -> None:
        self._seen.pop(address, None)
