"""The platform-neutral message in (`Turn`) and reply out (`Reply`); no Slack or Teams type appears here."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Turn:
    text: str
    user_id: str = "local"
    user_name: str = ""
    channel_id: str = "local"
    thread_id: str = ""
    platform: str = "web"          # web | slack | teams | cli
    event_id: str = ""             # for dropping re-delivered events
    is_bot: bool = False
    is_dm: bool = False
    # False for a channel message that neither mentions husbot nor is a command: only a feature that listens to the
    # whole conversation (an open minutes capture) may take it; it is never answered
    addressed: bool = True
    email: str = ""
    # filled by the core from the roster unless the surface already knows (the CLI acts as admin)
    role: str | None = None
    pilot: str | None = None
    lang: str | None = None
    pilot_filter: str | None = None    # "only this pilot" chosen in the surface (web chat's pilot menu)

    @property
    def conversation_key(self) -> str:
        return f"{self.platform}:{self.channel_id}:{self.thread_id or '-'}"


@dataclass
class Action:
    kind: str                      # feedback_up | feedback_down | show_source | ask | minutes_accept | ...
    label: str
    value: str


@dataclass
class CitationView:
    number: int
    title: str
    document: str
    section: str
    page: int | None
    snippet: str
    passage_id: int
    pilots: list[str] = field(default_factory=list)
    text: str = ""


@dataclass
class PilotSection:
    pilot: str
    sentences: list[tuple[str, int]]
    found: bool
    text: str = ""          # the sentences with [n] marks, or "no source found for <pilot>"


@dataclass
class Reply:
    kind: str                      # answer | comparison | help | source | feedback | error | none | minutes_draft | tasks ...
    text: str
    lang: str = "nb"
    lead: str = ""
    sentences: list[tuple[str, int]] = field(default_factory=list)
    citations: list[CitationView] = field(default_factory=list)
    pilots: list[PilotSection] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    answer_id: str | None = None
    found: bool = True
    confidence: float | None = None
    ephemeral: bool = False
    question: str = ""
    data: dict = field(default_factory=dict)     # structured payload for forms (e.g. a minutes draft to edit)

    def as_dict(self) -> dict:
        return asdict(self)
