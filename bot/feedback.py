"""👍/👎 on answers; a passage that keeps getting 👎 for a question is demoted the next time it is asked."""
from __future__ import annotations

import json
import time
from collections import Counter

from sqlite_utils.db import NotFoundError

from knowledge.textnorm import fold

DEMOTE_AFTER = 2        # 👎 votes on the same passage for the same question
DEMOTION = 0.5          # multiplier on the passage's fused score


def question_key(question: str) -> str:
    return " ".join(sorted(set(fold(question).split())))


class Feedback:
    def __init__(self, db):
        self.db = db

    def record(self, answer: dict, user_id: str, platform: str, vote: int, reason: str = "") -> int:
        passage_ids = [c["passage_id"] for c in answer["citations"]]
        with self.db.atomic():
            return self.db["feedback"].insert({
                "answer_id": answer["id"], "user_id": user_id, "platform": platform, "vote": vote, "reason": reason,
                "question": answer["question"], "passage_ids": json.dumps(passage_ids), "created_at": time.time()
            }).last_pk

    def add_reason(self, feedback_id: int, reason: str) -> None:
        with self.db.atomic():
            try:
                self.db["feedback"].update(feedback_id, {"reason": reason[:2000]})
            except NotFoundError:   # why: sqlite-utils' own error is no LookupError, so callers missed it (#8)
                raise LookupError(f"no feedback {feedback_id}") from None

    def has_reason(self, feedback_id: int) -> bool:
        row = self.db.execute("select reason from feedback where id = ?", [feedback_id]).fetchone()
        return bool(row and row[0])

    def penalties(self, question: str) -> dict[int, float]:
        """Passage id -> score multiplier for passages voted down at least DEMOTE_AFTER times for this question."""
        key = question_key(question)
        votes: Counter = Counter()
        for row in self.db.query("select question, passage_ids from feedback where vote < 0"):
            if question_key(row["question"]) == key:
                ids = json.loads(row["passage_ids"] or "[]")
                votes.update(ids[:1])   # why only the first: the top citation is what the user judged
        return {pid: DEMOTION for pid, n in votes.items() if n >= DEMOTE_AFTER}

    def counts(self) -> dict:
        up = self.db.execute("select count(*) from feedback where vote > 0").fetchone()[0]
        down = self.db.execute("select count(*) from feedback where vote < 0").fetchone()[0]
        reasons = [r["reason"] for r in self.db.query(
            "select reason from feedback where vote < 0 and reason != '' order by created_at desc limit 10")]
        return {"up": up, "down": down, "recent_reasons": reasons}
