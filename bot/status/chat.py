"""The chat side of the status round: «status send|oversikt|svar|hjelp» and the status_open / status_submit buttons."""
from __future__ import annotations

import json
import re
from datetime import date

from knowledge.pilots import PILOTS

from ..messages import t
from ..roster import Identity
from ..turn import Reply, Turn
from .calendar import month_from_name, month_label, month_of, parse_month
from .errors import StatusError
from .form import render_form
from .overview import overview, render
from .round import StatusInvalid, StatusRound, may_answer, pilot_name

SEND = {"send", "start", "åpne"}
OVERVIEW = {"oversikt", "overview", "matrise"}
ANSWER = {"svar", "answer", "skjema", "form", "fyll"}
HELP = {"hjelp", "help", "?"}
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})$|^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_MONTH = re.compile(r"^\d{4}-\d{1,2}$")


def _date(word: str) -> date:
    m = _DATE.match(word.strip())
    try:
        if m and m.group(1):
            return date.fromisoformat(m.group(1))
        if m:
            return date(int(m.group(4)), int(m.group(3)), int(m.group(2)))
    except ValueError:
        pass
    raise StatusError("status_bad_date", value=word)


class StatusChat:
    def __init__(self, bot):
        self.bot = bot
        self.round = StatusRound(bot)

    def _ident(self, turn: Turn) -> Identity:
        return Identity(turn.role or "guest", turn.pilot)

    def _month(self, word: str) -> str:
        if _MONTH.match(word):
            return parse_month(word if len(word) == 7 else f"{word[:4]}-0{word[5:]}")
        named = month_from_name(word, self.round.now().date())
        if named is None:
            raise StatusError("status_bad_month", value=word)
        return named

    async def command(self, turn: Turn, text: str) -> Reply:
        lang = turn.lang or "nb"
        words = text.split()
        sub = words[1].lower() if len(words) > 1 else "hjelp"
        args = words[2:]
        if sub not in SEND | OVERVIEW | ANSWER | HELP:
            # why: «Status på resultatoppnåelse i Narvik?» is a question, not a command
            return await self.bot.answer(turn, text)
        try:
            if sub in SEND:
                return await self._send(turn, args, lang)
            if sub in OVERVIEW:
                return self._overview(turn, args, lang)
            if sub in ANSWER:
                return self._answer(turn, args, lang)
        except StatusError as e:
            return e.reply(lang)
        return Reply("help", t("status_help", lang, pilots=", ".join(PILOTS)), lang)

    async def _send(self, turn: Turn, args: list[str], lang: str) -> Reply:
        if not self._ident(turn).sees_everything:
            raise StatusError("status_not_allowed")
        month, deadline = None, None
        words = list(args)
        while words:
            w = words.pop(0).strip(",.")
            if w.lower() in ("frist", "deadline", "innen", "due") and words:
                deadline = _date(words.pop(0).strip(",."))
            elif _DATE.match(w):
                deadline = _date(w)
            elif w.lower() not in ("for", "til", "–", "-"):
                month = self._month(w)
        result = await self.round.start(month, deadline, by=turn.user_name or turn.user_id)
        rnd, c = result["round"], result["counts"]
        text = t("status_started", lang, month=month_label(rnd["month"], lang), deadline=rnd["deadline"],
                 sent=c.get("sent", 0), already=c.get("already", 0),
                 waiting=c.get("undeliverable", 0) + c.get("failed", 0), no_leader=c.get("no_leader", 0))
        return Reply("status_started", text, lang, data={"round": rnd, "counts": c})

    def overview_data(self, month: str) -> dict:
        month = parse_month(month)
        return overview(self.round.book, self.round.fields, month, self.round.deadline(month).isoformat())

    def _overview(self, turn: Turn, args: list[str], lang: str) -> Reply:
        if not self._ident(turn).sees_everything:
            raise StatusError("status_not_allowed")
        month = self._month(args[0]) if args else month_of(self.round.now().date())
        data = self.overview_data(month)
        return Reply("status_overview", render(data, self.round.fields, lang), lang, data={"overview": data})

    def _answer(self, turn: Turn, args: list[str], lang: str) -> Reply:
        pilot, month = None, None
        for w in args:
            if any(p.lower() == w.lower() for p in PILOTS):
                pilot = pilot_name(w)
            else:
                month = self._month(w)
        pilot = pilot or turn.pilot
        if not pilot:
            raise StatusError("status_which_pilot", pilots=", ".join(PILOTS))
        return self.form_reply(turn, pilot, month or month_of(self.round.now().date()), lang)

    def form_reply(self, turn: Turn, pilot: str, month: str, lang: str) -> Reply:
        pilot, month = pilot_name(pilot), parse_month(month)
        if not may_answer(self._ident(turn), pilot):
            raise StatusError("status_not_allowed_pilot", pilot=pilot)
        form = self.round.form(pilot, month, lang)
        return Reply("status_form", render_form(form), lang, ephemeral=True, data={"form": form})

    # -- buttons and forms --------------------------------------------------------------------------------------
    async def on_open(self, turn: Turn, value) -> Reply:
        """`status_open` with value "Narvik:2025-03" → a `status_form` Reply (data["form"])."""
        lang = turn.lang or "nb"
        pilot, _, month = str(value or "").partition(":")
        try:
            return self.form_reply(turn, pilot, month, lang)
        except StatusError as e:
            return e.reply(lang)

    async def on_submit(self, turn: Turn, value) -> Reply:
        """`status_submit` with {"pilot", "month", "values": {key: text}} (or its JSON) → status_saved,
        status_invalid (data["errors"]: {key: message}) or error."""
        lang = turn.lang or "nb"
        try:
            payload = json.loads(value) if isinstance(value, (str, bytes)) else dict(value or {})
            if not isinstance(payload, dict) or not isinstance(payload.get("values", {}), dict):
                raise ValueError("not an object")
        except (ValueError, TypeError):
            return StatusError("status_bad_form").reply(lang)
        try:
            pilot, month = pilot_name(str(payload.get("pilot") or "")), parse_month(str(payload.get("month") or ""))
            if not may_answer(self._ident(turn), pilot):
                raise StatusError("status_not_allowed_pilot", pilot=pilot)
            answer = self.round.submit(pilot, month, payload.get("values") or {},
                                       by=turn.user_name or turn.email or turn.user_id, platform=turn.platform)
        except StatusInvalid as e:
            errors = e.messages(lang)
            return Reply("status_invalid", t("status_invalid", lang, n=len(errors)) + "\n" +
                         "\n".join(f"• {k}: {m}" for k, m in errors.items()), lang, ephemeral=True,
                         data={"errors": errors, "pilot": payload.get("pilot"), "month": payload.get("month")})
        except StatusError as e:
            return e.reply(lang)
        indexed = await self.round.index(answer)
        return self.saved_reply(answer, indexed, lang)

    def saved_reply(self, answer: dict, indexed: bool, lang: str) -> Reply:
        text = t("status_saved", lang, pilot=answer["pilot"], month=month_label(answer["month"], lang),
                 version=answer["version"])
        if answer["late"]:
            text += " " + t("status_saved_late", lang, deadline=answer["deadline"])
        if not indexed:
            text += " " + t("status_not_indexed", lang)
        return Reply("status_saved", text, lang, ephemeral=True,
                     data={"answer": answer, "pilot": answer["pilot"], "month": answer["month"],
                           "version": answer["version"], "late": answer["late"], "indexed": indexed})
