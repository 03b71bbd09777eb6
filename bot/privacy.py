"""What husbot stores about one person, to hand it over (export) or to forget it (GDPR articles 15 and 17).

A person is found by e-mail in the roster; their ids (Slack, Teams, the status form's `person:N`) find their
conversations, answers and feedback. Forgetting deletes those and the roster entry, and replaces the person's name,
e-mail and ids everywhere else (minutes, action items, status answers, the outbox) with «slettet bruker #N», so
submitted status answers and accepted minutes keep counting; the affected minutes and status passages are indexed
again so the name can no longer be searched for.
"""
from __future__ import annotations

import json
import re
import sqlite3

from knowledge import HusbotError
from knowledge.textnorm import fold

PSEUDONYM = "slettet bruker #{n}"
FORGOTTEN_META = "forgotten_people"
# text columns where a person's name, e-mail or ids may be written, and that are kept (anonymised) on forget
SCRUB = {
    "minutes": ("title", "created_by", "accepted_by", "participants"),
    "minutes_messages": ("author", "text"),
    "minutes_versions": ("author", "content"),
    "action_items": ("text", "owner", "done_by"),
    "status_answers": ("submitted_by", "answers"),
    "status_rounds": ("started_by",),
    "outbox": ("key", "recipient", "text", "error"),
    "conversations": ("history",),
    "answers": ("question", "text"),
    "feedback": ("question", "reason"),
    "api_tokens": ("name",),
    "teams_conversations": ("user_name",),
}
MINUTES_TABLES = {"minutes": "id", "minutes_messages": "minutes_id", "minutes_versions": "minutes_id",
                  "action_items": "minutes_id"}


class PrivacyError(HusbotError):
    pass


class Privacy:
    def __init__(self, bot):
        self.bot = bot
        self.knowledge = bot.knowledge
        self.db = bot.knowledge.store.db

    # -- who ------------------------------------------------------------------------------------------------------
    def person(self, email: str) -> dict | None:
        email = (email or "").strip().lower()
        if "@" not in email:
            raise PrivacyError(f"'{email}' is not an e-mail address")
        rows = list(self.db["people"].rows_where("lower(email) = ?", [email], limit=1))
        return dict(rows[0]) if rows else None

    def _who(self, email: str) -> tuple[dict | None, set[str], set[str]]:
        """The roster entry, the user ids the person writes under, and every string that names them."""
        email = email.strip().lower()
        person = self.person(email)
        ids = {email}
        if person:
            ids |= {x for x in (person["slack_user_id"], person["teams_aad_id"], f"person:{person['id']}") if x}
            if person["teams_aad_id"]:
                ids |= {r[0] for r in self.db.execute("select user_id from teams_conversations where "
                                                      "aad_object_id = ? and user_id != ''",
                                                      [person["teams_aad_id"]])}
        names = set(ids)
        if person and len((person["name"] or "").strip()) >= 3:
            names.add(person["name"].strip())
        return person, ids, names

    def _owner_matches(self, person: dict | None, names: set[str]) -> callable:
        """Whether an action item's owner is this person: the full name, an id, or a short form («Nora») that
        fits nobody else in the roster."""
        lowered = {n.lower() for n in names}
        full = set(fold(person["name"] or "").split()) if person else set()
        others = [set(fold(p["name"] or "").split()) for p in self.bot.roster.people()
                  if not person or p["id"] != person["id"]]

        def matches(owner: str) -> bool:
            owner = (owner or "").strip().lstrip("@")
            if not owner:
                return False
            if owner.lower() in lowered:
                return True
            words = set(fold(owner).replace(".", " ").split())
            return bool(full and words) and words <= full and not any(words <= o for o in others)
        return matches

    # -- export ---------------------------------------------------------------------------------------------------
    def export(self, email: str) -> dict:
        """Everything stored about the person with this e-mail, as JSON-ready data (empty lists when nothing)."""
        person, ids, names = self._who(email)
        lowered = {n.lower() for n in names}
        owner = self._owner_matches(person, names)
        q = ",".join("?" * len(ids))
        ids_ = sorted(ids)

        def rows(sql: str, args=()) -> list[dict]:
            return [dict(r) for r in self.db.query(sql, list(args))]

        status = [r for r in rows("select * from status_answers order by month, pilot, version")
                  if (r["submitted_by"] or "").lower() in lowered]
        for r in status:
            r["answers"] = json.loads(r["answers"] or "{}")
        return {
            "email": email.strip().lower(),
            "roster": person,
            "conversations": [{**r, "history": json.loads(r["history"] or "[]")} for r in
                              rows(f"select * from conversations where user_id in ({q}) order by updated_at", ids_)],
            "answers": [{**r, "citations": json.loads(r["citations"] or "[]")} for r in
                        rows(f"select * from answers where user_id in ({q}) order by created_at", ids_)],
            "feedback": rows(f"select * from feedback where user_id in ({q}) order by created_at", ids_),
            "minutes_messages": [r for r in rows("select * from minutes_messages order by id")
                                 if (r["author"] or "").lower() in lowered],
            "minutes_recorded": [r for r in rows("select id, type, title, date, status, created_by, accepted_by "
                                                 "from minutes order by id")
                                 if (r["created_by"] or "").lower() in lowered
                                 or (r["accepted_by"] or "").lower() in lowered],
            "action_items": [r for r in rows("select * from action_items order by id") if owner(r["owner"])],
            "status_answers": status,
            "outbox": [r for r in rows("select * from outbox order by created_at")
                       if (r["recipient"] or "").lower() in lowered],
            "teams_conversations": rows(f"select conversation_id, kind, user_id, aad_object_id, user_name, "
                                        f"updated_at from teams_conversations where user_id in ({q}) or "
                                        f"aad_object_id in ({q})", ids_ + ids_),
        }

    # -- forget ---------------------------------------------------------------------------------------------------
    def forget(self, email: str) -> dict:
        """Delete the person's roster entry, conversations, answers and feedback; anonymise the rest; re-index.

        Returns what was done: counts per table, the pseudonym, and the minutes and status months indexed again.
        """
        found = self.export(email)
        if not any(v for k, v in found.items() if k != "email"):
            return {"pseudonym": None, "deleted": {}, "anonymised": {}, "reindexed": {"minutes": [], "status": []}}
        person, ids, names = self._who(email)
        owner = self._owner_matches(person, names)
        ids_ = sorted(ids)
        q = ",".join("?" * len(ids_))
        deleted: dict[str, int] = {}
        anonymised: dict[str, int] = {}
        minutes_ids: set[int] = set()
        status_keys: set[tuple[str, str]] = set()
        with self.db.atomic():
            n = int(self.knowledge.store.get_meta(FORGOTTEN_META, "0") or 0) + 1
            pseudonym = PSEUDONYM.format(n=n)
            for table, where, args in (
                    ("conversations", f"user_id in ({q})", ids_), ("answers", f"user_id in ({q})", ids_),
                    ("feedback", f"user_id in ({q})", ids_),
                    ("teams_conversations", f"user_id in ({q}) or aad_object_id in ({q})", ids_ + ids_),
                    ("people", "id = ?", [person["id"]] if person else [-1])):
                deleted[table] = self.db.execute(f"delete from {table} where {where}", args).rowcount
            # the messages sent to them: kept, so the outbox still knows they went out once, without what they said
            for r in found["outbox"]:
                self.db.execute("update outbox set text = '', error = '' where key = ?", [r["key"]])
            # action items they own, also when written by first name only
            for r in found["action_items"]:
                self.db.execute("update action_items set owner = ? where id = ?", [pseudonym, r["id"]])
                minutes_ids.add(r["minutes_id"])
            for row in list(self.db.query("select minutes_id, version, content from minutes_versions")):
                content = json.loads(row["content"] or "{}")
                hit = False
                for a in content.get("actions") or []:
                    if isinstance(a, dict) and owner(a.get("owner") or ""):
                        a["owner"], hit = pseudonym, True
                if hit:
                    self.db.execute("update minutes_versions set content = ? where minutes_id = ? and version = ?",
                                    [json.dumps(content, ensure_ascii=False), row["minutes_id"], row["version"]])
                    minutes_ids.add(row["minutes_id"])
            pattern = _pattern(names)
            for table, columns in SCRUB.items():
                changed = 0
                # why the primary key and not rowid: PostgreSQL has no rowid (#9); every table here has one
                keys = _primary_key(self.db, table)
                where = " and ".join(f"{k} = ?" for k in keys)
                for row in list(self.db.query(f"select * from {table}")):
                    new = {c: pattern.sub(pseudonym, row[c]) for c in columns
                           if isinstance(row[c], str) and pattern.search(row[c])}
                    if not new:
                        continue
                    sets = ", ".join(f"{c} = ?" for c in new)
                    self.db.execute(f"update {table} set {sets} where {where}",
                                    [*new.values(), *(row[k] for k in keys)])
                    changed += 1
                    if table in MINUTES_TABLES:
                        minutes_ids.add(row[MINUTES_TABLES[table]])
                    if table == "status_answers":
                        status_keys.add((row["pilot"], row["month"]))
                if changed:
                    anonymised[table] = changed
            if found["action_items"]:
                anonymised["action_items"] = max(anonymised.get("action_items", 0), len(found["action_items"]))
            self.knowledge.store.set_meta(FORGOTTEN_META, n)
        reindexed = self._reindex(minutes_ids, status_keys)
        return {"pseudonym": pseudonym, "deleted": {k: v for k, v in deleted.items() if v},
                "anonymised": anonymised, "reindexed": reindexed}

    def _reindex(self, minutes_ids: set[int], status_keys: set[tuple[str, str]]) -> dict:
        """Index the changed minutes and status months again, so search finds the pseudonym, not the name."""
        from indexer.minutes import index_minutes
        from indexer.status import index_status

        store = self.knowledge.store
        book = self.bot.minutes.book
        done_minutes = []
        for mid in sorted(minutes_ids):
            rec = book.get(mid)
            if rec["status"] == "accepted" and store.document_by_path(f"minutes://{mid}") is not None:
                index_minutes(self.knowledge, rec, book.messages(mid))
                done_minutes.append(mid)
        done_status = []
        round_ = self.bot.status.round
        for pilot, month in sorted(status_keys):
            latest = round_.book.latest(pilot, month)
            if latest and store.document_by_path(f"status://{pilot}/{month}") is not None:
                index_status(self.knowledge, latest, round_.fields)
                done_status.append(f"{pilot} {month}")
        return {"minutes": done_minutes, "status": done_status}

    def compact(self) -> bool:
        """Rewrite the database file so deleted rows leave no trace in free pages or the WAL; False when busy.

        On PostgreSQL a plain VACUUM of the tables forget touched, outside any transaction (the connection is in
        autocommit): it frees the dead row versions for reuse without the exclusive lock VACUUM FULL would take on
        running servers. Old versions may live on in the server's WAL archive and dumps until those rotate out."""
        if self.knowledge.store.backend == "postgresql":
            import psycopg
            try:
                self.db.execute(f"vacuum {', '.join(sorted(set(SCRUB) | {'people'}))}")
                return True
            except psycopg.Error:
                return False
        try:
            self.db.execute("pragma wal_checkpoint(truncate)")
            self.db.execute("vacuum")
            self.db.execute("pragma wal_checkpoint(truncate)")
            return True
        except sqlite3.OperationalError:
            return False


def _primary_key(db, table: str) -> list[str]:
    """The primary key columns of `table` on either backend (sqlite-utils' `pks`, or PostgresDatabase's)."""
    if hasattr(db, "primary_key"):
        keys = db.primary_key(table)
    else:
        keys = [k for k in db[table].pks if k != "rowid"]
    if not keys:
        raise PrivacyError(f"{table} has no primary key; cannot anonymise its rows one by one")
    return keys


def _pattern(names: set[str]) -> re.Pattern:
    """The person's name, e-mail and ids as whole words, case-insensitive, also as JSON escapes (\\u00f8)."""
    forms = set()
    for n in names:
        forms.add(n)
        forms.add(json.dumps(n)[1:-1])
    alternatives = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    return re.compile(rf"(?<![\w@.]){'(?:' + alternatives + ')'}(?![\w@])", re.IGNORECASE)
