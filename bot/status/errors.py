"""The one named error of the status round; `key` and `args` name its message in bot/messages.py."""
from __future__ import annotations

from knowledge import HusbotError

from ..messages import t
from ..turn import Reply


class StatusError(HusbotError):
    """A status request that cannot be done (unknown pilot, bad month, not allowed, bad fields file …)."""

    def __init__(self, key: str, **args):
        self.key, self.args_ = key, args
        super().__init__(t(key, "nb", **args))

    def text(self, lang: str) -> str:
        return t(self.key, lang, **self.args_)

    def reply(self, lang: str) -> Reply:
        return Reply("error", self.text(lang), lang, ephemeral=True, data={"error": self.key})
