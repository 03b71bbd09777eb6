"""Platform-neutral conversation logic: questions, threads, comparison, feedback, roles."""
from .core import Bot, run_sync
from .messages import t
from .roster import Roster, RosterError
from .turn import Action, CitationView, PilotSection, Reply, Turn

__all__ = ["Action", "Bot", "CitationView", "PilotSection", "Reply", "Roster", "RosterError", "Turn", "run_sync", "t"]
