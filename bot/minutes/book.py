"""Minutes records in SQLite: capture, drafts (every edit a new version), accept, action items.

Every change is one SQLite transaction that also writes a new draft version, so a crash between draft and accept
loses nothing.
"""
from __future__ import annotations

import json
import time
from datetime import date, datetime, timezone

from knowledge import HusbotError
from knowledge.pilots import pilots_in
from knowledge.store import IntegrityError
from knowledge.textnorm import fold

from ..extraction import ActionItem, extract, parse_due, summary
from ..messages import t
from ..turn import Reply

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
        except IntegrityError:
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

    def unindexed(self) -> list[dict]:
        """Accepted minutes the search does not have yet (the process died between accept and index)."""
        return [self.get(r[0]) for r in self.db.execute(
            "select id from minutes where status = 'accepted' and indexed_at is null order by id")]

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
