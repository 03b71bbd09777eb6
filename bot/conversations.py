"""Conversation memory in SQLite: what was asked and answered in a thread, so follow-ups and "kilde N" work after a restart."""
from __future__ import annotations

import json
import time
import uuid

MAX_HISTORY = 10


class Conversations:
    def __init__(self, db):
        self.db = db

    def history(self, key: str) -> list[dict]:
        rows = list(self.db["conversations"].rows_where("key = ?", [key]))
        return json.loads(rows[0]["history"]) if rows else []

    def append(self, key: str, turn, entry: dict) -> None:
        hist = (self.history(key) + [entry])[-MAX_HISTORY:]
        with self.db.atomic():
            self.db["conversations"].upsert({"key": key, "platform": turn.platform, "channel": turn.channel_id,
                                             "thread": turn.thread_id, "user_id": turn.user_id,
                                             "history": json.dumps(hist, ensure_ascii=False),
                                             "updated_at": time.time()}, pk="key")

    def save_answer(self, key: str, turn, question: str, lang: str, text: str, citations: list, confidence) -> str:
        answer_id = uuid.uuid4().hex[:16]
        with self.db.atomic():
            self.db["answers"].insert({"id": answer_id, "conversation": key, "platform": turn.platform,
                                       "user_id": turn.user_id, "question": question, "lang": lang, "text": text,
                                       "citations": json.dumps(citations, ensure_ascii=False),
                                       "confidence": confidence, "created_at": time.time()})
        return answer_id

    def answer(self, answer_id: str) -> dict | None:
        rows = list(self.db["answers"].rows_where("id = ?", [answer_id]))
        if not rows:
            return None
        row = dict(rows[0])
        row["citations"] = json.loads(row["citations"] or "[]")
        return row

    def last_answer(self, key: str) -> dict | None:
        rows = list(self.db["answers"].rows_where("conversation = ?", [key], order_by="created_at desc", limit=1))
        if not rows:
            return None
        row = dict(rows[0])
        row["citations"] = json.loads(row["citations"] or "[]")
        return row

    def seen_event(self, event_key: str) -> bool:
        """True if this event was handled before (re-deliveries are dropped, also across restarts)."""
        if not event_key:
            return False
        with self.db.atomic():
            cur = self.db.execute("insert or ignore into processed_events(key, created_at) values (?, ?)",
                                  [event_key, time.time()])
        return cur.rowcount == 0
