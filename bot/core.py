"""The conversation core: a turn passes small steps (drop re-deliveries, ignore bots, who is asking, which intent)
and leaves as a platform-neutral `Reply`. Every surface (web, Slack, Teams, CLI) calls `Bot.handle`."""
from __future__ import annotations

import asyncio
import logging
import re
from typing import Awaitable, Callable

from knowledge import EmptyQuestion, Filters, Knowledge, QuestionTooLong
from knowledge.answer import compose
from knowledge.pilots import pilots_in
from knowledge.retrieval import MAX_QUESTION_CHARS
from knowledge.textnorm import detect_language, tidy

from .admission import Admission, Busy
from .compare import is_comparison, per_pilot_question, pilots_to_compare
from .conversations import Conversations
from .feedback import Feedback
from .messages import t
from .roster import Identity, Roster
from .outbox import Outbox
from .schedule import Schedule
from .turn import Action, CitationView, PilotSection, Reply, Turn

log = logging.getLogger("husbot.bot")

HELP = re.compile(r"^\s*(?:hjelp|help|\?)\s*[!.?]*\s*$", re.I)
SOURCE = re.compile(r"^\s*(?:vis\s+)?(?:kilde|source|show\s+source)\s*\[?(\d{1,2})\]?\s*$", re.I)
FOLLOW_UP = re.compile(r"^\s*(?:og|men|hva med|enn|and|what about|how about|and in|og i|og for)\b", re.I)

Handler = Callable[[Turn, str], Awaitable[Reply]]
Interceptor = Callable[[Turn, str], Awaitable["Reply | None"]]
ActionHandler = Callable[[Turn, str], Awaitable[Reply]]


class Bot:
    def __init__(self, knowledge: Knowledge):
        self.knowledge = knowledge
        db = knowledge.store.db
        self.conversations = Conversations(db)
        self.feedback = Feedback(db)
        self.roster = Roster(db)
        self.commands: dict[str, Handler] = {}   # hooks: "referat" (minutes), "status" (status round), ...
        # consulted before question answering: a Reply answers, kind "none" swallows silently, None passes on
        self.interceptors: list[Interceptor] = []
        self.action_handlers: dict[str, ActionHandler] = {}   # button kinds owned by a feature
        self.outbox = Outbox(db)                   # messages husbot sends unasked; surfaces register senders
        # timed jobs; `husbot serve` runs them, one server at a time when several share a database
        self.schedule = Schedule(knowledge.settings.timezone, lock=knowledge.store.job_lock)
        # why a bound: past it a question would only wait behind the others until its asker gives up (issue #8)
        self.admission = Admission(knowledge.settings.max_questions_in_flight,
                                   knowledge.settings.max_questions_waiting)
        from . import minutes
        self.minutes = minutes.install(self)
        from . import status
        self.status = status.install(self)     # the monthly status round; its API is `self.status.round`

    def register_command(self, word: str, handler: Handler) -> None:
        """Let a later feature (minutes, status round) own messages starting with `word`."""
        self.commands[word.lower()] = handler

    def register_action(self, kind: str, handler: ActionHandler) -> None:
        """Let a feature own a button kind (e.g. minutes_accept); `act` passes it the button's value."""
        self.action_handlers[kind] = handler

    # -- the steps --------------------------------------------------------------------------------------
    async def handle(self, turn: Turn) -> Reply | None:
        if turn.is_bot:
            return None
        if turn.event_id and self.conversations.seen_event(f"{turn.platform}:{turn.event_id}"):
            log.info("dropping re-delivered event %s", turn.event_id)
            return None
        self._identify(turn)
        text = " ".join((turn.text or "").split())
        if not turn.addressed:
            return await self._overheard(turn, text)
        lang = turn.lang or detect_language(text, "nb")
        pending = self._pending_reason(turn)
        # why the '?': after a 👎 the next message is the reason, unless the user simply asks something new
        if pending and text and not text.endswith("?") and not HELP.match(text) and not SOURCE.match(text):
            self.feedback.add_reason(pending, text)
            self.conversations.append(turn.conversation_key, turn, {"type": "reason_saved"})
            return Reply("feedback", t("reason_saved", lang), lang)
        if not text:
            return Reply("error", t("empty_question", lang), lang, ephemeral=True)
        if HELP.match(text):
            return Reply("help", t("help", lang), lang)
        m = SOURCE.match(text)
        if m:
            last = self.conversations.last_answer(turn.conversation_key)
            return self.source(last["id"] if last else "", int(m.group(1)), lang)
        first = text.split()[0].lower().lstrip("/")
        if first in self.commands:
            return await self.commands[first](turn, text)
        for intercept in self.interceptors:
            reply = await intercept(turn, text)
            if reply is not None:
                return None if reply.kind == "none" else reply
        return await self.answer(turn, text, lang)

    async def upload(self, turn: Turn, filename: str, data) -> Reply | None:
        """A file sent with a message: «referat importer …» with minutes attached is the one use so far. `data` is
        the bytes, or an async function that fetches them (called only when the file is wanted)."""
        if turn.event_id and self.conversations.seen_event(f"{turn.platform}:{turn.event_id}"):
            return None
        self._identify(turn)
        words = (turn.text or "").lower().lstrip("/").split()
        if words[:1] == ["referat"] and words[1:2] in (["importer"], ["import"]):
            return await self.minutes.import_file(turn, filename, data if isinstance(data, bytes) else await data())
        lang = turn.lang or detect_language(turn.text or "", "nb")
        return Reply("error", t("upload_what", lang), lang, ephemeral=True)

    async def _overheard(self, turn: Turn, text: str) -> Reply | None:
        for intercept in self.interceptors:
            reply = await intercept(turn, text)
            if reply is not None:
                return None if reply.kind == "none" else reply
        return None

    def _identify(self, turn: Turn) -> None:
        if turn.role is None:
            ident = self.roster.identify(turn.platform, turn.user_id, turn.email)
            turn.role, turn.pilot = ident.role, ident.pilot

    def visible_pilots(self, turn: Turn) -> set[str] | None:
        """Which pilots' private passages this audience may see (None: all of them)."""
        ident = Identity(turn.role or "guest", turn.pilot)
        allowed = None if ident.sees_everything else ({ident.pilot} if ident.pilot else set())
        if turn.is_dm or turn.platform in ("web", "cli"):
            return allowed
        # in a channel everyone there reads the answer: only the channel's own pilot, and only if the asker may
        channel = self.roster.channel_pilot(turn.platform, turn.channel_id)
        if channel is None:
            return set()
        return {channel} if allowed is None or channel in allowed else set()

    def _pending_reason(self, turn: Turn) -> int | None:
        hist = self.conversations.history(turn.conversation_key)
        if hist and hist[-1].get("type") == "awaiting_reason":
            fid = hist[-1]["feedback_id"]
            # a reason given through a form (Slack modal, Teams card, web box) ends the wait
            return None if self.feedback.has_reason(fid) else fid
        return None

    # -- questions ------------------------------------------------------------------------------------------
    def resolve_follow_up(self, turn: Turn, text: str) -> str:
        """'og i Narvik?' after 'Hvem deltok i Stad?' becomes 'Hvem deltok i Narvik?'."""
        hist = [h for h in self.conversations.history(turn.conversation_key) if h.get("type") == "question"]
        if not hist:
            return text
        prev = hist[-1]["question"]
        n_words = len(text.split())
        if not (n_words <= 6 and FOLLOW_UP.match(text) or n_words <= 3 and pilots_in(text)):
            return text
        new_pilots, old_pilots = pilots_in(text), pilots_in(prev)
        if new_pilots and old_pilots:
            out = prev
            for old in old_pilots:
                out = re.sub(rf"\b{old}\w*", new_pilots[0], out, flags=re.I)
            return out
        rest = FOLLOW_UP.sub("", text).strip(" ?")
        return f"{prev.rstrip(' ?')} – {rest}?" if rest else prev

    async def answer(self, turn: Turn, text: str, lang: str | None = None) -> Reply:
        lang = lang or detect_language(text)
        if len(text) > MAX_QUESTION_CHARS:
            return Reply("error", t("too_long", lang, n=len(text), max=MAX_QUESTION_CHARS), lang, ephemeral=True)
        question = self.resolve_follow_up(turn, text)
        if not self.knowledge.store.has_passages():
            return Reply("error", t("empty_index", lang), lang)
        visible = self.visible_pilots(turn)
        # why here and not in the worker thread: SQLite reads stay on the event loop's thread, and the
        # indexes are loaded once before concurrent questions share them
        penalties = self.feedback.penalties(question)
        self.knowledge.retriever
        try:
            async with self.admission.slot():
                if is_comparison(question) and not turn.pilot_filter:
                    reply = await asyncio.to_thread(self._compare, question, lang, visible, penalties)
                else:
                    reply = await asyncio.to_thread(self._answer, question, lang, visible, turn.pilot_filter,
                                                    penalties)
        except Busy:
            return Reply("busy", t("busy", lang), lang, ephemeral=True)
        except EmptyQuestion:
            return Reply("error", t("empty_question", lang), lang, ephemeral=True)
        except QuestionTooLong:
            return Reply("error", t("too_long", lang, n=len(question), max=MAX_QUESTION_CHARS), lang, ephemeral=True)
        reply.question = question
        key = turn.conversation_key
        reply.answer_id = self.conversations.save_answer(
            key, turn, question, lang, reply.text, [c.__dict__ for c in reply.citations], reply.confidence)
        self.conversations.append(key, turn, {"type": "question", "question": question, "answer_id": reply.answer_id})
        reply.actions = [Action("feedback_up", "👍", reply.answer_id), Action("feedback_down", "👎", reply.answer_id)]
        reply.actions += [Action("show_source", f"{t('label_show_source', lang)} {c.number}",
                                 f"{reply.answer_id}:{c.number}") for c in reply.citations]
        if reply.kind == "answer" and not is_comparison(question):
            reply.suggestions = [t("suggest_compare", lang, question=question)] if not pilots_in(question) else []
        return reply

    def _search(self, question: str, lang: str, filters: Filters, k: int = 5, penalties=None):
        return self.knowledge.retriever.search(question, k, filters, lang, penalties=penalties)

    def _answer(self, question: str, lang: str, visible, pilot: str | None = None, penalties=None) -> Reply:
        hits = self._search(question, lang, Filters(pilot=pilot, visible_pilots=visible), self.knowledge.settings.top_k,
                            penalties)
        a = compose(question, lang, hits, tidy, self.knowledge.retriever.lexical.coverage, self._threshold())
        return Reply("answer", a.text, lang, a.lead, a.sentences, [_view(c) for c in a.citations], found=a.found,
                     confidence=a.confidence)

    def _compare(self, question: str, lang: str, visible, penalties=None) -> Reply:
        sections, citations = [], []
        for pilot in pilots_to_compare(question):
            q = per_pilot_question(question, pilot, lang)
            hits = self._search(q, lang, Filters(pilot=pilot, visible_pilots=visible), 6, penalties)
            # why: a summary naming all four pilots matches every pilot; prefer passages about this pilot alone
            hits = sorted(hits, key=lambda h: h.rank + (3 if h.passage.pilots != [pilot] else 0))[:2]
            # judged on the topic words alone, so a passage that merely names the pilot does not count as an answer
            topic = per_pilot_question(question, "", lang)
            a = compose(topic, lang, hits, tidy, self.knowledge.retriever.lexical.coverage, self._threshold(),
                        n_sentences=4)
            a.sentences = [(s, n) for s, n in a.sentences
                           if not (set(pilots_in(s)) - {pilot}) or pilot in pilots_in(s)][:2]
            numbers = {}
            for c in a.citations if a.found else []:
                view = _view(c)
                view.number = len(citations) + 1
                numbers[c.number] = view.number
                citations.append(view)
            sentences = [(s, numbers[n]) for s, n in a.sentences if n in numbers]
            body = " ".join(f"{x} [{n}]" for x, n in sentences) if sentences else t("compare_none", lang, pilot=pilot)
            sections.append(PilotSection(pilot, sentences, bool(sentences), body))
        lines = [t("compare_lead", lang)] + [f"{s.pilot}: {s.text}" for s in sections]
        return Reply("comparison", "\n".join(lines), lang, t("compare_lead", lang), citations=citations,
                     pilots=sections, found=any(s.found for s in sections))

    def _threshold(self) -> float:
        from knowledge.answer import DEFAULT_MIN_CONFIDENCE
        return self.knowledge.settings.min_confidence or DEFAULT_MIN_CONFIDENCE

    # -- buttons ----------------------------------------------------------------------------------------------
    def source(self, answer_id: str, number: int, lang: str = "nb") -> Reply:
        ans = self.conversations.answer(answer_id) if answer_id else None
        cits = {c["number"]: c for c in (ans or {}).get("citations", [])}
        if number not in cits:
            return Reply("error", t("no_source_n", lang, n=number), lang, ephemeral=True)
        c = cits[number]
        view = CitationView(**{k: c[k] for k in CitationView.__dataclass_fields__ if k in c})
        head = f"{t('source_title', lang, n=number)}: {c['title']}"
        where = ", ".join(x for x in [c.get("section") or "", f"{t('label_page', lang)} {c['page']}" if c.get("page") else ""] if x)
        return Reply("source", f"{head}{' – ' + where if where else ''}\n\n{c.get('text') or c['snippet']}", lang,
                     citations=[view])

    def add_feedback_reason(self, feedback_id: int, reason: str, lang: str = "nb") -> Reply:
        """The 'why' behind a 👎, from a form (web, Slack modal, Teams card) rather than the next chat message."""
        try:
            self.feedback.add_reason(int(feedback_id), " ".join(reason.split()))
        except (ValueError, LookupError, OverflowError):   # OverflowError: an id past SQLite's 64 bits
            return Reply("error", t("unknown_answer", lang), lang, ephemeral=True)
        return Reply("feedback", t("reason_saved", lang), lang, ephemeral=True)

    async def act(self, turn: Turn, kind: str, value: str) -> Reply:
        """A button press: feedback_up / feedback_down (value = answer id) or show_source (value = 'answer:n')."""
        self._identify(turn)
        lang = turn.lang or "nb"
        if kind == "show_source":
            answer_id, _, n = value.partition(":")
            ans = self.conversations.answer(answer_id)
            # why not isdigit(): "²" is a digit that int() refuses, and a 5000-digit number is too (#8)
            number = int(n) if re.fullmatch(r"[0-9]{1,6}", n) else 0
            return self.source(answer_id, number, (ans or {}).get("lang", lang))
        if kind in self.action_handlers:
            return await self.action_handlers[kind](turn, value)
        if kind in ("feedback_up", "feedback_down"):
            ans = self.conversations.answer(value)
            if ans is None:
                return Reply("error", t("unknown_answer", lang), lang, ephemeral=True)
            lang = ans["lang"]
            vote = 1 if kind == "feedback_up" else -1
            fid = self.feedback.record(ans, turn.user_id, turn.platform, vote)
            if vote < 0:
                self.conversations.append(turn.conversation_key, turn, {"type": "awaiting_reason", "feedback_id": fid})
                return Reply("feedback", t("thanks_down", lang), lang, ephemeral=True, answer_id=str(fid))
            return Reply("feedback", t("thanks_up", lang), lang, ephemeral=True)
        return Reply("error", t("error", lang), lang, ephemeral=True)


def _view(c) -> CitationView:
    return CitationView(c.number, c.title, c.document, c.section, c.page, c.snippet, c.passage_id, list(c.pilots),
                        c.text)


def run_sync(coro):
    """The CLI's one door into the async core."""
    return asyncio.run(coro)
