"""The chat side of minutes: «referat …», «oppgaver …», «oppgave ferdig …», capture, draft buttons, reminders."""
from __future__ import annotations

import asyncio
import json
import logging
import re
import tempfile
from datetime import date, datetime
from pathlib import Path

from indexer.minutes import index_minutes
from indexer.readers import read
from knowledge.errors import UnreadableFile
from knowledge.pilots import PILOTS, pilots_in
from knowledge.textnorm import fold

from ..messages import t
from ..outbox import Recipient
from ..turn import Action, Reply, Turn
from .book import MEETING_TYPES, SECTIONS, Minutes, MinutesError, meeting_type
from .text import FORM_FIELDS, form_values, from_form, render_draft, task_line

log = logging.getLogger("husbot.minutes")

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EDIT = re.compile(r"^(endre|fjern|legg\s+til|change|remove|add)\s+(?:#?(\d+)\s+)?(\w+)(?:\s+(\d+))?\s*(.*)$", re.I | re.S)


class MinutesChat:
    """The chat side: parses «referat …», «oppgaver …», «oppgave ferdig …» and answers with Replies."""

    def __init__(self, bot):
        self.bot = bot
        self.book = Minutes(bot.knowledge.store.db)

    def _lang(self, turn: Turn, text: str) -> str:
        return turn.lang or "nb"

    def _visible(self, turn: Turn, rec: dict) -> bool:
        visible = self.bot.visible_pilots(turn)
        return visible is None or not rec["pilots"] or bool(set(rec["pilots"]) & visible)

    def _pilots(self, turn: Turn, words: str) -> list[str]:
        return pilots_in(words) or ([turn.pilot] if turn.pilot else []) or \
            [p for p in [self.bot.roster.channel_pilot(turn.platform, turn.channel_id)] if p]

    async def referat(self, turn: Turn, text: str) -> Reply:
        lang = self._lang(turn, text)
        parts = text.split(maxsplit=2)
        sub = parts[1].lower() if len(parts) > 1 else ""
        rest = parts[2] if len(parts) > 2 else ""
        who = turn.user_name or turn.user_id
        try:
            if sub == "start":
                return self._start(turn, rest, lang)
            if sub in ("stopp", "stop", "slutt"):
                return self._draft_reply(self.book.stop(turn.conversation_key, who), lang)
            if sub in ("importer", "import"):
                return self._import(turn, lang)
            if sub in ("godta", "accept", "godkjenn"):
                return await self.accept(turn, rest.strip(), lang)
            if sub in ("vis", "show", "utkast"):
                return self._draft_reply(self._record(turn, rest.strip()), lang)
            if sub in ("endre", "fjern", "legg", "change", "remove", "add"):
                return self._edit(turn, text.split(maxsplit=1)[1], lang)
        except MinutesError as e:
            return e.reply(lang)
        return Reply("help", t("minutes_help", lang, types=", ".join(MEETING_TYPES)), lang)

    def _record(self, turn: Turn, ref: str) -> dict:
        if ref.lstrip("#").isdigit():
            rec = self.book.get(ref.lstrip("#"))
            if not self._visible(turn, rec):
                raise MinutesError("minutes_unknown", id=ref)
            return rec
        rec = self.book.latest_draft(turn.conversation_key)
        if rec is None:
            raise MinutesError("minutes_no_draft")
        return rec

    def _start(self, turn: Turn, rest: str, lang: str) -> Reply:
        words = rest.split()
        kind = meeting_type(words[0]) if words else None
        words = words[1:] if kind else words
        day = words.pop(0) if words and _is_day(words[0]) else None
        title = " ".join(words)
        rec = self.book.start(turn.conversation_key, type=kind or "annet", title=title, day=day,
                              pilots=self._pilots(turn, title), by=turn.user_name or turn.user_id, lang=lang)
        return Reply("minutes_started", t("minutes_started", lang, id=rec["id"], type=rec["type"],
                                          title=f": {title}" if title else ""), lang, data={"minutes": rec})

    def _import(self, turn: Turn, lang: str, body: str | None = None) -> Reply:
        """Pasted minutes (the message holds them), or an uploaded file's text (`body`; the message holds the words
        after «referat importer»: type, date, title)."""
        # the raw text keeps its line breaks (the core squeezes whitespace in `text`)
        raw = re.sub(r"^\s*/?referat\s+(?:importer|import)\b[ \t]*", "", turn.text or "", flags=re.I)
        head, _, rest = raw.partition("\n") if body is None else (raw.split("\n")[0], "", body)
        words = head.split()
        kind, day = None, None
        while words and (meeting_type(words[0]) or _is_day(words[0])):
            w = words.pop(0)
            kind, day = (kind, w) if _is_day(w) else (meeting_type(w), day)
        if body is None:
            text, title = ((" ".join(words) + "\n" + rest).strip() if (kind or day) else raw.strip()), ""
        else:
            text, title = body.strip(), " ".join(words)
        day = day or _date_in(text)
        rec = self.book.import_text(text, type=kind or _type_in(text), title=title, day=day,
                                    pilots=self._pilots(turn, title + "\n" + text[:2000]),
                                    by=turn.user_name or turn.user_id, conversation=turn.conversation_key, lang=lang)
        return self._draft_reply(rec, lang)

    async def import_file(self, turn: Turn, filename: str, data: bytes) -> Reply:
        """An uploaded .txt, .md or .docx becomes a draft like pasted minutes; a file we cannot read stores nothing."""
        lang = turn.lang or "nb"
        name = Path(filename or "").name or "fil"
        suffix = Path(name).suffix.lower()
        try:
            if suffix not in UPLOADABLE:
                raise MinutesError("minutes_upload_type", name=name)
            if len(data) > UPLOAD_MAX_BYTES:
                raise MinutesError("minutes_upload_too_big", name=name, mb=UPLOAD_MAX_BYTES // 2 ** 20)
            text = await asyncio.to_thread(_read_upload, suffix, data)
            if text is None:
                raise MinutesError("minutes_upload_unreadable", name=name)
            return self._import(turn, lang, body=text)
        except MinutesError as e:
            return e.reply(lang)

    def _edit(self, turn: Turn, text: str, lang: str) -> Reply:
        m = _EDIT.match(text)
        if not m:
            raise MinutesError("minutes_bad_edit", id="ID")
        verb, ref, section, number, rest = m.groups()
        rec = self._record(turn, ref or "")
        section = SECTIONS.get(section.lower())
        op = {"endre": "change", "fjern": "remove", "change": "change", "remove": "remove"}.get(verb.lower(), "add")
        if section is None or (op == "add" and not (rest or number)):
            raise MinutesError("minutes_bad_edit", id=rec["id"])
        if op == "add" and number:
            rest, number = f"{number} {rest}".strip(), None
        rec = self.book.edit_item(rec["id"], op, section, int(number) if number else None, rest.strip(),
                                  by=turn.user_name or turn.user_id)
        return self._draft_reply(rec, lang)

    def _draft_reply(self, rec: dict, lang: str) -> Reply:
        body = render_draft(rec, lang)
        if rec["status"] == "draft":
            body += "\n\n" + t("minutes_draft_foot", lang, id=rec["id"])
        actions = [Action("minutes_accept", t("label_accept", lang), str(rec["id"])),
                   Action("minutes_edit", t("label_edit", lang), str(rec["id"]))] if rec["status"] == "draft" else []
        # the surfaces build their edit form from `form` (labels, boxes prefilled, the «text | owner | due» hint)
        form = {"id": rec["id"], "values": form_values(rec),
                "labels": {k: t(f"label_{k}", lang) for k in FORM_FIELDS},
                "hint": t("minutes_form_hint", lang), "title": t("minutes_form_title", lang, id=rec["id"]),
                "submit": t("label_save", lang)}
        return Reply("minutes_draft", body, lang, actions=actions, data={"minutes": rec, "form": form})

    async def accept(self, turn: Turn, ref: str, lang: str | None = None) -> Reply:
        lang = lang or turn.lang or "nb"
        try:
            rec = self.book.accept(self._record(turn, ref)["id"], by=turn.user_name or turn.user_id)
        except MinutesError as e:
            return e.reply(lang)
        c = rec["content"]
        try:
            await asyncio.to_thread(index_minutes, self.bot.knowledge, rec, self.book.messages(rec["id"]))
            self.book.mark_indexed(rec["id"])
            text = t("minutes_accepted", lang, id=rec["id"], n_decisions=len(c["decisions"]), n_actions=len(c["actions"]))
        except Exception as e:  # accepted and stored either way; only the search copy is missing
            log.exception("indexing minutes %s failed", rec["id"])
            text = t("minutes_not_indexed", lang, id=rec["id"], error=type(e).__name__)
        return Reply("minutes_accepted", text, lang, data={"minutes": rec})

    async def on_accept(self, turn: Turn, value: str) -> Reply:
        self.bot._identify(turn)
        return await self.accept(turn, value)

    async def on_edit(self, turn: Turn, value: str) -> Reply:
        """The surface opens its form from the draft in `data`; this returns it fresh."""
        lang = turn.lang or "nb"
        try:
            return self._draft_reply(self._record(turn, value), lang)
        except MinutesError as e:
            return e.reply(lang)

    async def on_save(self, turn: Turn, value) -> Reply:
        """A saved edit form: `value` is {"id": …, "decisions": "…", "actions": "…", "questions": "…"} (or its JSON)."""
        self.bot._identify(turn)
        lang = turn.lang or "nb"
        try:
            values = json.loads(value) if isinstance(value, str) else dict(value or {})
            if not isinstance(values, dict):
                raise ValueError("not an object")
        except ValueError:
            return MinutesError("minutes_bad_form").reply(lang)
        try:
            rec = self._record(turn, str(values.get("id") or ""))
            rec = self.book.edit(rec["id"], from_form(rec, values), by=turn.user_name or turn.user_id, note="form")
        except MinutesError as e:
            return e.reply(lang)
        return self._draft_reply(rec, lang)

    async def oppgaver(self, turn: Turn, text: str) -> Reply:
        lang = self._lang(turn, text)
        arg = text.split(maxsplit=1)[1].strip() if len(text.split()) > 1 else ""
        pilot = next((p for p in PILOTS if p.lower() == arg.lower()), None)
        owner = None if pilot or not arg else arg
        tasks = self.book.tasks(pilot=pilot, owner=owner, visible=self.bot.visible_pilots(turn))
        scope = f" ({arg})" if arg else ""
        if not tasks:
            return Reply("tasks", t("tasks_none", lang, scope=scope), lang, data={"tasks": []})
        lines = [t("tasks_head", lang, scope=scope)]
        for a in tasks:
            lines.append(f"  #{a['id']} {task_line(a, lang)} · {a['minutes_type']} {a['minutes_date'][:10]}")
        actions = [Action("task_done", f"{t('label_done', lang)} #{a['id']}", str(a["id"])) for a in tasks[:10]]
        return Reply("tasks", "\n".join(lines), lang, actions=actions, data={"tasks": tasks})

    async def oppgave(self, turn: Turn, text: str) -> Reply:
        lang = self._lang(turn, text)
        words = text.split()
        if len(words) < 3 or words[1].lower() not in ("ferdig", "done", "lukk", "close"):
            return Reply("error", t("task_usage", lang), lang, ephemeral=True)
        return await self.task_done(turn, words[2], lang)

    async def task_done(self, turn: Turn, value: str, lang: str | None = None) -> Reply:
        lang = lang or turn.lang or "nb"
        try:
            task = self.book.done(value, by=turn.user_name or turn.user_id)
        except MinutesError as e:
            return e.reply(lang)
        return Reply("task_done", t("task_done", lang, id=task["id"], text=task["text"]), lang, data={"task": task})

    async def remind_due(self, now: datetime) -> dict:
        """Remind each owner, in a direct message, of open action items due today (or overdue, never reminded)."""
        today = now.date().isoformat()
        counts: dict[str, int] = {}
        for a in self.book.tasks(status="open"):
            if not a["due"] or a["due"] > today:
                continue
            person = self.bot.roster.find_person(a["owner"]) if a["owner"] else None
            if person is None:
                counts["no_owner"] = counts.get("no_owner", 0) + 1
                continue
            lang = "nb"
            text = t("task_due_reminder", lang, id=a["id"], line=task_line(a, lang),
                     meeting=f"{a['minutes_type']} {a['minutes_date'][:10]}")
            reply = Reply("task_reminder", text, lang, actions=[Action("task_done", t("label_done", lang), str(a["id"]))],
                          data={"task": a})
            result = await self.bot.outbox.send(f"task_due:{a['id']}:{a['due']}", "task_due", Recipient.of(person), reply)
            counts[result] = counts.get(result, 0) + 1
        return counts

    async def reindex_pending(self, now: datetime | None = None) -> int:
        """Make accepted minutes searchable that are not yet (the process died between accept and index)."""
        done = 0
        for rec in self.book.unindexed():
            try:
                await asyncio.to_thread(index_minutes, self.bot.knowledge, rec, self.book.messages(rec["id"]))
            except Exception:
                log.exception("indexing minutes %s failed again", rec["id"])
                continue
            self.book.mark_indexed(rec["id"])
            done += 1
        return done

    async def capture(self, turn: Turn, text: str) -> Reply | None:
        """While a capture is open in this conversation, ordinary messages are collected, not answered."""
        rec = self.book.open_capture(turn.conversation_key)
        if rec is None:
            return None
        self.book.add_message(rec["id"], turn.user_name or turn.user_id, turn.text or text)
        return Reply("none", "", turn.lang or "nb")


def _is_day(word: str) -> bool:
    """An ISO date that exists: «2025-02-30» stays text instead of crashing the import (#8)."""
    try:
        return bool(_ISO.match(word)) and bool(date.fromisoformat(word))
    except ValueError:
        return False


UPLOADABLE = (".txt", ".md", ".docx")
UPLOAD_MAX_BYTES = 5 * 2 ** 20


def _read_upload(suffix: str, data: bytes) -> str | None:
    """The text of an uploaded file through the indexer's readers (which refuse corrupt files and zip bombs)."""
    with tempfile.TemporaryDirectory(prefix="husbot-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            return "\n".join(p.text for p in read(path))
        except UnreadableFile:
            return None


def _date_in(text: str) -> str | None:
    head = "\n".join(text.splitlines()[:6])
    m = re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b|\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b", head)
    if not m:
        return None
    try:
        d = date(int(m.group(1)), int(m.group(2)), int(m.group(3))) if m.group(1) else \
            date(int(m.group(6)), int(m.group(5)), int(m.group(4)))
    except ValueError:
        return None
    return d.isoformat()


def _type_in(text: str) -> str:
    head = fold(" ".join(text.splitlines()[:3]))
    for key, kind in (("kaffe", "kaffemøte"), ("styringsgrupp", "styringsgruppe"), ("steering", "styringsgruppe"),
                      ("arbeidsmote", "arbeidsmøte"), ("working meeting", "arbeidsmøte"), ("fellessamling", "fellessamling"),
                      ("utviklingssamling", "utviklingssamling"), ("studietur", "studietur"), ("study trip", "studietur")):
        if key in head:
            return kind
    return "annet"


def install(bot) -> MinutesChat:
    """Add minutes to a Bot: the «referat», «oppgaver» and «oppgave» commands, capture, and the draft buttons."""
    if isinstance(getattr(bot, "minutes", None), MinutesChat):
        return bot.minutes
    chat = MinutesChat(bot)
    bot.register_command("referat", chat.referat)
    bot.register_command("oppgaver", chat.oppgaver)
    bot.register_command("oppgave", chat.oppgave)
    bot.interceptors.append(chat.capture)
    bot.register_action("minutes_accept", chat.on_accept)
    bot.register_action("minutes_edit", chat.on_edit)
    bot.register_action("minutes_save", chat.on_save)
    bot.register_action("task_done", lambda turn, value: chat.task_done(turn, value))
    hour = int(getattr(bot.knowledge.settings, "reminder_hour", 8))
    bot.schedule.add("task_due_reminders", chat.remind_due, hour=hour, minute=0)
    # at start-up (catch-up) and hourly: accepted minutes the search does not have yet
    bot.schedule.add("minutes_reindex", chat.reindex_pending, minute=17)
    return chat
