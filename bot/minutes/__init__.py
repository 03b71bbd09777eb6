"""Meeting minutes in chat: capture a thread, draft decisions and action items, edit in versions, accept, track tasks.

`install(bot)` (called by every Bot) adds the «referat», «oppgaver» and «oppgave» commands, the capture interceptor,
the draft buttons and the due-date reminder job.
"""
from .book import MEETING_TYPES, SECTIONS, Minutes, MinutesError, content_from, meeting_type
from .chat import MinutesChat, install
from .text import FORM_FIELDS, form_values, from_form, render_draft, task_line

__all__ = ["FORM_FIELDS", "MEETING_TYPES", "SECTIONS", "Minutes", "MinutesChat", "MinutesError", "content_from",
           "form_values", "from_form", "install", "meeting_type", "render_draft", "task_line"]
