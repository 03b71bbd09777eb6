"""Meeting minutes in chat: capture a thread, draft decisions and action items, edit in versions, accept, track tasks.

Every change is one SQLite transaction that also writes a new draft version, so a crash between draft and accept
loses nothing. `install(bot)` adds the «referat», «oppgaver» and «oppgave» commands and the capture interceptor.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import sqlite3
import time
from datetime import date, datetime, timezone

from indexer.minutes import index_minutes, minutes_title as title_of
from knowledge import HusbotError
from knowledge.pilots import PILOTS, pilots_in
from knowledge.textnorm import fold

from .extraction import ActionItem, extract, parse_due, summary
from .messages import t
from .outbox import Recipient
from .turn import Action, Reply, Turn

log = logging.getLogger("husbot.minutes")

MEETING_TYPES = ("kaffemøte", "styringsgruppe", "arbeidsmøte", "fellessamling", "utviklingssamling", "studietur",
                 "annet")
TYPE_ALIASES = {"kaffe": "kaffemøte", "kaffemote": "kaffemøte", "kaffe-med-påfyll": "kaffemøte",
                "styringsgruppemøte": "styringsgruppe", "styringsgruppa": "styringsgruppe", "steering": "styringsgruppe",
                "arbeidsmote": "arbeidsmøte", "working": "arbeidsmøte", "samling": "fellessamling",
                "study-trip": "studietur", "other": "annet"}
SECTIONS = {"vedtak": "decisions", "decision": "decisions", "decisions": "decisions", "beslutning": "decisions",
            "oppgave": "actions", "oppgaver": "actions", "action": "actions", "actions": "actions", "tiltak": "actions",
            "spørsmål": "questions", "question": "questions", "questions": "questions"}


class MinutesError(HusbotError):
    """A minutes request that cannot be done; `key` and `args` name the message in bot/messages.py."""

    def __init__(self, key: str, **args):
        self.key, self.args_ = key, args
        super().__init__(t(key, "nb", **args))

    def reply(self, lang: str) -> Reply:
        return Reply("error", t(self.key, lang, **self.args_), lang, ephemeral=True)


def meeting_type(word: str | None) -> str | None:
    """'Styringsgruppemøte' → 'styringsgruppe'; None when the word is not a meeting type."""
    w = (word or "").strip().lower()
    if w in MEETING_TYPES:
        return w
    return TYPE_ALIASES.get(w) or TYPE_ALIASES.get(fold(w))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def content_from(ex) -> dict:
    return {"decisions": list(ex.decisions), "actions": [a.__dict__.copy() for a in ex.actions],
            "questions": list(ex.questions), "topics": list(ex.topics), "summary": summary(ex)}


class Minutes:
    """Minutes records in SQLite: capture, drafts (every edit a new version), accept, action items."""

    def __init__(self, db):
        self.db = db

    # -- records ------------------------------------------------------------------------------------------------
    def _insert(self, *, conversation: str, status: str, type: str, title: str, day: str, pilots: list[str],
                participants: list[str], source: str, by: str, lang: str) -> int:
        now = time.time()
        return self.db["minutes"].insert({
            "conversation": conversation, "status": status, "type": type, "title": title, "date": day,
            "pilots": json.dumps(pilots, ensure_ascii=False), "participants": json.dumps(participants, ensure_ascii=False),
            "source": source, "lang": lang, "version": 0, "created_by": by, "created_at": now, "updated_at": now,
        }).last_pk

    def get(self, minutes_id) -> dict:
        try:
            row = self.db["minutes"].get(int(minutes_id))
        except Exception:
            raise MinutesError("minutes_unknown", id=minutes_id) from None
        rec = dict(row)
        rec["pilots"] = json.loads(rec["pilots"] or "[]")
        rec["participants"] = json.loads(rec["participants"] or "[]")
        v = self.db.execute("select content from minutes_versions where minutes_id=? and version=?",
                            [rec["id"], rec["version"]]).fetchone()
        rec["content"] = json.loads(v[0]) if v else {"decisions": [], "actions": [], "questions": [], "topics": [],
                                                     "summary": ""}
        rec["n_messages"] = self.db.execute("select count(*) from minutes_messages where minutes_id=?",
                                            [rec["id"]]).fetchone()[0]
        return rec

    def list(self, status: str | None = None) -> list[dict]:
        where, args = ("status = ?", [status]) if status else ("status != 'empty'", [])
        return [self.get(r["id"]) for r in self.db["minutes"].rows_where(where, args, order_by="date desc, id desc")]

    def messages(self, minutes_id: int) -> list[dict]:
        return list(self.db["minutes_messages"].rows_where("minutes_id = ?", [minutes_id], order_by="id"))

    def versions(self, minutes_id: int) -> list[dict]:
        rows = self.db["minutes_versions"].rows_where("minutes_id = ?", [minutes_id], order_by="version")
        return [{**r, "content": json.loads(r["content"])} for r in rows]

    def _new_version(self, minutes_id: int, content: dict, by: str, note: str) -> int:
        """Inside the caller's transaction: the draft and the record's version move together."""
        version = self.db.execute("select coalesce(max(version), 0) + 1 from minutes_versions where minutes_id=?",
                                  [minutes_id]).fetchone()[0]
        self.db["minutes_versions"].insert({"minutes_id": minutes_id, "version": version, "author": by, "note": note,
                                            "content": json.dumps(content, ensure_ascii=False),
                                            "created_at": time.time()})
        self.db.execute("update minutes set version=?, updated_at=? where id=?", [version, time.time(), minutes_id])
        return version

    # -- capture ------------------------------------------------------------------------------------------------
    def open_capture(self, conversation: str) -> dict | None:
        """The capture of this thread, or else of its channel (a capture started in a channel takes its threads)."""
        keys = [conversation]
        if not conversation.endswith(":-"):
            keys.append(conversation.rsplit(":", 1)[0] + ":-")
        for key in keys:
            row = self.db.execute("select id from minutes where conversation=? and status='capturing'",
                                  [key]).fetchone()
            if row:
                return self.get(row[0])
        return None

    def start(self, conversation: str, *, type: str = "annet", title: str = "", pilots: list[str] | None = None,
              day: str | None = None, by: str = "", lang: str = "nb") -> dict:
        try:
            with self.db.atomic():
                mid = self._insert(conversation=conversation, status="capturing", type=type, title=title,
                                   day=day or date.today().isoformat(), pilots=pilots or [], participants=[],
                                   source="capture", by=by, lang=lang)
        except sqlite3.IntegrityError:
            raise MinutesError("minutes_already_open", id=self.open_capture(conversation)["id"]) from None
        return self.get(mid)

    def add_message(self, minutes_id: int, author: str, text: str, at: str | None = None) -> None:
        with self.db.atomic():
            self.db["minutes_messages"].insert({"minutes_id": minutes_id, "author": author, "at": at or _now(),
                                                "text": text})

    def stop(self, conversation: str, by: str = "") -> dict:
        """End the capture and write draft version 1 from the collected messages."""
        rec = self.open_capture(conversation)
        if rec is None:
            raise MinutesError("minutes_none_open")
        msgs = self.messages(rec["id"])
        with self.db.atomic():
            if not msgs:
                self.db.execute("update minutes set status='empty', updated_at=? where id=?", [time.time(), rec["id"]])
                raise_empty = True
            else:
                raise_empty = False
                ex = extract([(m["author"], m["text"]) for m in msgs], date.fromisoformat(rec["date"][:10]))
                participants = list(dict.fromkeys([m["author"] for m in msgs if m["author"]] + ex.participants))
                self.db.execute("update minutes set status='draft', participants=? where id=?",
                                [json.dumps(participants, ensure_ascii=False), rec["id"]])
                self._new_version(rec["id"], content_from(ex), by, "extracted")
        if raise_empty:
            raise MinutesError("minutes_empty", id=rec["id"])
        return self.get(rec["id"])

    def import_text(self, text: str, *, type: str = "annet", title: str = "", pilots: list[str] | None = None,
                    day: str | None = None, by: str = "", conversation: str = "", lang: str = "nb") -> dict:
        """A draft from finished minutes (pasted or uploaded); the text is kept as one message."""
        if not text.strip():
            raise MinutesError("minutes_import_empty")
        day = day or date.today().isoformat()
        ex = extract([(None, text)], date.fromisoformat(day[:10]))
        title = title or next((ln.strip(" #") for ln in text.splitlines() if ln.strip()), "")[:120]
        pilots = pilots if pilots is not None else pilots_in(title + "\n" + text[:2000])
        with self.db.atomic():
            mid = self._insert(conversation=conversation, status="draft", type=type, title=title, day=day,
                               pilots=pilots, participants=ex.participants, source="import", by=by, lang=lang)
            self.db["minutes_messages"].insert({"minutes_id": mid, "author": by, "at": _now(), "text": text})
            self._new_version(mid, content_from(ex), by, "extracted")
        return self.get(mid)

    def latest_draft(self, conversation: str) -> dict | None:
        row = self.db.execute("select id from minutes where conversation=? and status='draft' order by id desc limit 1",
                              [conversation]).fetchone()
        return self.get(row[0]) if row else None

    # -- editing and accepting ----------------------------------------------------------------------------------
    def edit(self, minutes_id: int, content: dict, by: str = "", note: str = "edit") -> dict:
        """Replace the draft's content; the old version stays."""
        rec = self.get(minutes_id)
        if rec["status"] != "draft":
            raise MinutesError("minutes_not_draft", id=rec["id"])
        clean = {k: content.get(k, rec["content"].get(k, [])) for k in ("decisions", "actions", "questions", "topics")}
        clean["actions"] = [{**ActionItem(a.get("text", "")).__dict__, **a} for a in clean["actions"]]
        clean["summary"] = content.get("summary", rec["content"].get("summary", ""))
        with self.db.atomic():
            self._new_version(rec["id"], clean, by, note)
        return self.get(rec["id"])

    def edit_item(self, minutes_id: int, op: str, section: str, number: int | None, text: str = "",
                  by: str = "") -> dict:
        """op: add | change | remove an item (1-based number) in decisions, actions or questions."""
        rec = self.get(minutes_id)
        content = json.loads(json.dumps(rec["content"]))
        items = content[section]
        if op in ("change", "remove") and not (number and 1 <= number <= len(items)):
            raise MinutesError("minutes_bad_edit", id=rec["id"])
        if op == "remove":
            items.pop(number - 1)
        else:
            value = text
            if section == "actions":
                ex = extract([(None, text)], date.fromisoformat(rec["date"][:10]))
                item = ex.actions[0].__dict__ if ex.actions else ActionItem(text).__dict__
                if not ex.actions:
                    item["due"], item["due_text"], item["due_flagged"] = parse_due(text, date.fromisoformat(rec["date"][:10]))
                value = item
            if op == "add":
                items.append(value)
            else:
                items[number - 1] = value
        return self.edit(rec["id"], content, by, f"{op} {section} {number or ''}".strip())

    def accept(self, minutes_id: int, by: str = "") -> dict:
        """Make the latest draft final and open its action items, in one transaction."""
        rec = self.get(minutes_id)
        if rec["status"] != "draft":
            raise MinutesError("minutes_not_draft", id=rec["id"])
        now = time.time()
        with self.db.atomic():
            self.db.execute("update minutes set status='accepted', accepted_by=?, accepted_at=?, updated_at=? "
                            "where id=? and status='draft'", [by, now, now, rec["id"]])
            for a in rec["content"]["actions"]:
                self.db["action_items"].insert({
                    "minutes_id": rec["id"], "pilots": json.dumps(rec["pilots"], ensure_ascii=False),
                    "text": a.get("text", ""), "owner": a.get("owner") or "", "due": a.get("due") or "",
                    "due_text": a.get("due_text") or "", "due_flagged": int(bool(a.get("due_flagged"))),
                    "status": "open", "created_at": now})
        return self.get(rec["id"])

    def mark_indexed(self, minutes_id: int) -> None:
        with self.db.atomic():
            self.db.execute("update minutes set indexed_at=? where id=?", [time.time(), minutes_id])

    # -- action items -------------------------------------------------------------------------------------------
    def tasks(self, pilot: str | None = None, owner: str | None = None, status: str | None = "open",
              visible: set[str] | None = None) -> list[dict]:
        sql = ("select a.*, m.title as minutes_title, m.type as minutes_type, m.date as minutes_date "
               "from action_items a join minutes m on m.id = a.minutes_id")
        args: list = []
        if status:
            sql += " where a.status = ?"
            args.append(status)
        out = []
        for r in self.db.query(sql + " order by coalesce(nullif(a.due, ''), '9999'), a.id", args):
            r = dict(r)
            r["pilots"] = json.loads(r["pilots"] or "[]")
            if pilot and pilot not in r["pilots"]:
                continue
            if visible is not None and r["pilots"] and not set(r["pilots"]) & visible:
                continue
            if owner and not _same_person(owner, r["owner"]):
                continue
            out.append(r)
        return out

    def done(self, task_id, by: str = "") -> dict:
        with self.db.atomic():
            cur = self.db.execute("update action_items set status='done', done_at=?, done_by=? where id=?",
                                  [time.time(), by, _int(task_id)])
        if cur.rowcount == 0:
            raise MinutesError("task_unknown", id=task_id)
        return dict(self.db["action_items"].get(_int(task_id)))


def _int(value) -> int:
    try:
        return int(str(value).lstrip("#"))
    except ValueError:
        return -1


def _same_person(query: str, owner: str) -> bool:
    q, o = set(fold(query.lstrip("@")).replace(".", " ").split()), set(fold(owner or "").replace(".", " ").split())
    return bool(q and o) and (q <= o or o <= q)


def render_draft(rec: dict, lang: str) -> str:
    c = rec["content"]
    lines = [t("minutes_draft_head", lang, id=rec["id"], version=rec["version"], title=title_of(rec))]
    if c.get("summary"):
        lines.append(f"{t('label_topics', lang)}: {c['summary']}")
    lines.append(f"{t('label_decisions', lang)}:")
    lines += [f"  {n}. {d}" for n, d in enumerate(c["decisions"], 1)] or [f"  ({t('label_none', lang)})"]
    lines.append(f"{t('label_actions', lang)}:")
    lines += [f"  {n}. {task_line(a, lang)}" for n, a in enumerate(c["actions"], 1)] or [f"  ({t('label_none', lang)})"]
    if c.get("questions"):
        lines.append(f"{t('label_questions', lang)}:")
        lines += [f"  • {q}" for q in c["questions"]]
    return "\n".join(lines)


def task_line(a: dict, lang: str) -> str:
    parts = [a.get("text", "")]
    if a.get("owner"):
        parts.append(f"{t('label_owner', lang)}: {a['owner']}")
    if a.get("due"):
        parts.append(f"{t('label_due', lang)}: {a['due']}" + (f" ({a['due_text']})" if a.get("due_text") else ""))
    elif a.get("due_text"):
        parts.append(f"{t('label_due', lang)}: «{a['due_text']}»")
    line = " – ".join(parts)
    return line + (f" {t('label_check_due', lang)}" if a.get("due_flagged") else "")


# -- the edit form (Slack modal, Teams card, web form): one item per line ------------------------------------------
FORM_FIELDS = ("decisions", "actions", "questions")


def form_values(rec: dict) -> dict[str, str]:
    """The draft as the text of the form's boxes; an action item is «text | owner | due»."""
    c = rec["content"]
    actions = []
    for a in c["actions"]:
        due = a.get("due") or a.get("due_text") or ""
        actions.append(" | ".join([a.get("text", ""), a.get("owner") or "", due]).rstrip(" |"))
    return {"decisions": "\n".join(c["decisions"]), "actions": "\n".join(actions),
            "questions": "\n".join(c.get("questions") or [])}


def from_form(rec: dict, values: dict[str, str]) -> dict:
    """The content of a saved form: blank lines dropped; a due date that is not a date is kept as text and flagged."""
    meeting = date.fromisoformat(rec["date"][:10])
    lines = {k: [ln.strip() for ln in str(values.get(k) or "").splitlines() if ln.strip()] for k in FORM_FIELDS}
    actions = []
    for line in lines["actions"]:
        text, owner, due_raw = ([p.strip() for p in line.split("|")] + ["", ""])[:3]
        item = ActionItem(text, owner.lstrip("@") or None).__dict__
        if due_raw:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", due_raw):
                try:
                    item["due"] = date.fromisoformat(due_raw).isoformat()
                except ValueError:
                    item["due_text"], item["due_flagged"] = due_raw, True
            else:
                due, phrase, flagged = parse_due(due_raw, meeting)
                item["due"], item["due_text"] = due, phrase or due_raw
                item["due_flagged"] = flagged or due is None
        actions.append(item)
    return {"decisions": lines["decisions"], "actions": actions, "questions": lines["questions"]}


# -- chat -----------------------------------------------------------------------------------------------------------
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
        day = words.pop(0) if words and _ISO.match(words[0]) else None
        title = " ".join(words)
        rec = self.book.start(turn.conversation_key, type=kind or "annet", title=title, day=day,
                              pilots=self._pilots(turn, title), by=turn.user_name or turn.user_id, lang=lang)
        return Reply("minutes_started", t("minutes_started", lang, id=rec["id"], type=rec["type"],
                                          title=f": {title}" if title else ""), lang, data={"minutes": rec})

    def _import(self, turn: Turn, lang: str) -> Reply:
        # the raw text keeps its line breaks (the core squeezes whitespace in `text`)
        raw = re.sub(r"^\s*/?referat\s+(?:importer|import)\b[ \t]*", "", turn.text or "", flags=re.I)
        head, _, body = raw.partition("\n")
        words = head.split()
        kind, day = None, None
        while words and (meeting_type(words[0]) or _ISO.match(words[0])):
            w = words.pop(0)
            kind, day = (kind, w) if _ISO.match(w) else (meeting_type(w), day)
        text = (" ".join(words) + "\n" + body).strip() if (kind or day) else raw.strip()
        day = day or _date_in(text)
        rec = self.book.import_text(text, type=kind or _type_in(text), day=day, pilots=self._pilots(turn, text[:2000]),
                                    by=turn.user_name or turn.user_id, conversation=turn.conversation_key, lang=lang)
        return self._draft_reply(rec, lang)

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

    async def capture(self, turn: Turn, text: str) -> Reply | None:
        """While a capture is open in this conversation, ordinary messages are collected, not answered."""
        rec = self.book.open_capture(turn.conversation_key)
        if rec is None:
            return None
        self.book.add_message(rec["id"], turn.user_name or turn.user_id, turn.text or text)
        return Reply("none", "", turn.lang or "nb")


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
    return chat
