"""Stores passages and answers questions over them with citations; the layer every surface asks."""
from .answer import Answer, Citation
from .errors import EmptyQuestion, HusbotError, IncompatibleStore, UnreadableFile
from .knowledge import Knowledge
from .pilots import PILOTS, pilots_in
from .retrieval import Filters, Hit, QuestionTooLong
from .settings import SETTINGS, Settings
from .store import Document, Passage

__all__ = ["Answer", "Citation", "Document", "EmptyQuestion", "Filters", "Hit", "HusbotError", "IncompatibleStore",
           "Knowledge", "PILOTS", "Passage", "QuestionTooLong", "SETTINGS", "Settings", "UnreadableFile", "pilots_in"]
