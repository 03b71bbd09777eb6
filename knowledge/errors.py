"""Named errors raised inside husbot; each surface translates them once, at its edge, into a friendly message."""


class HusbotError(Exception):
    """Base class: its message is one line a user can act on."""


class UnreadableFile(HusbotError):
    """A source file could not be read or held no text."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class EmptyQuestion(HusbotError):
    """The question was empty or only punctuation."""


class IncompatibleStore(HusbotError):
    """The data folder was built by another embedding model or a newer schema."""


class FolderInUse(HusbotError):
    """The data folder is open in another husbot process (or being restored)."""
