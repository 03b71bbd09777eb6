"""The Teams adapter's one handler: every activity becomes `bot.handle`/`bot.act`, every Reply an Adaptive Card.

Nothing here decides what to answer. Messages are answered in the same chat or reply chain (botbuilder replies to
the incoming activity); channel messages that do not @mention husbot go to the core unanswered (a minutes capture
collects them); card buttons (Action.Execute), the minutes edit form's «Lagre» included, are answered in the
invoke's HTTP response with a card that replaces the pressed one for the person who pressed it.
"""
from __future__ import annotations

import logging
from dataclasses import replace

from botbuilder.core import ActivityHandler, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import Activity, ActivityTypes, AdaptiveCardInvokeResponse, AdaptiveCardInvokeValue

from bot import Action, Bot, CitationView, Reply, Turn, t

from .proactive import References
from .status_cards import PROMPTS, SUBMIT_VERB, form_values
from .translate import (CARD_THREAD, CARD_TYPE, REASON_VERB, SAVE_VERB, VOTES, card_action, to_activity, to_card,
                        to_turn)

log = logging.getLogger("husbot.teams")
FORM_FIELDS = ("decisions", "actions", "questions")   # the boxes of the minutes edit form (bot/minutes.py)


class TeamsHandler(ActivityHandler):
    """Translate, ask the bot, send the card."""

    def __init__(self, bot: Bot, references: References):
        self.bot = bot
        self.references = references
        self.emails: dict[str, str] = {}     # AAD object id -> e-mail, so the roster can recognise people by e-mail

    # -- messages ----------------------------------------------------------------------------------------------------
    async def on_message_activity(self, context: TurnContext):
        self._remember(context.activity, if_new=True)
        turn = to_turn(context.activity)
        if turn.is_bot:
            return
        if not turn.addressed:
            # a channel message without @husbot (delivered under RSC): an open minutes capture may collect it,
            # nothing is ever posted for it, not even "typing"
            await self._handle(turn)
            return
        # why before asking: retrieval can take a few seconds; Teams shows "husbot is typing" meanwhile
        await context.send_activity(Activity(type=ActivityTypes.typing))
        await self._who(context, turn)
        reply = await self._handle(turn)
        if reply is not None:
            await context.send_activity(to_activity(self.enrich(reply)))

    async def _handle(self, turn: Turn) -> Reply | None:
        try:
            return await self.bot.handle(turn)
        except Exception:
            log.exception("Teams turn failed")
            return Reply("error", t("error"), ephemeral=True) if turn.addressed else None

    # -- install, join, leave ----------------------------------------------------------------------------------------
    async def on_conversation_update_activity(self, context: TurnContext):
        me = context.activity.recipient.id if context.activity.recipient else None
        removed = [m.id for m in context.activity.members_removed or []]
        if me and me in removed:
            self.references.forget(context.activity)
        else:
            self._remember(context.activity)

    async def on_installation_update_add(self, context: TurnContext):
        self._remember(context.activity)

    async def on_installation_update_remove(self, context: TurnContext):
        self.references.forget(context.activity)

    def _remember(self, activity: Activity, if_new: bool = False) -> None:
        try:
            self.references.remember(activity, if_new=if_new)
        except Exception:   # why: a full disk must not stop the answer; proactive messages are a bonus
            log.exception("could not store the Teams conversation reference")

    # -- card buttons (Action.Execute) -------------------------------------------------------------------------------
    async def on_adaptive_card_invoke(self, context: TurnContext,
                                      invoke_value: AdaptiveCardInvokeValue) -> AdaptiveCardInvokeResponse:
        verb, data = card_action(context.activity)
        turn = to_turn(context.activity, text="", thread=CARD_THREAD)
        await self._who(context, turn)
        try:
            card = await self._press(turn, verb, data)
        except Exception:
            log.exception("Teams card action %s failed", verb)
            card = to_card(Reply("error", t("error"), ephemeral=True))
        return AdaptiveCardInvokeResponse(status_code=200, type=CARD_TYPE, value=card)

    async def _press(self, turn: Turn, verb: str, data: dict) -> dict:
        value = str(data.get("value") or "")
        if verb == "show_source":
            source = await self.bot.act(turn, verb, value)
            answer = self._answer(value.partition(":")[0])
            return to_card(answer, source=source) if answer else to_card(source)
        if verb in VOTES:
            note = await self.bot.act(turn, verb, value)
            form = ({"value": note.answer_id, "answer_id": value, "lang": note.lang}
                    if verb == "feedback_down" and note.kind == "feedback" and note.answer_id else None)
            answer = self._answer(value)
            return to_card(answer, note=note, reason_form=form) if answer else to_card(note, reason_form=form)
        if verb == REASON_VERB:
            lang = str(data.get("lang") or "nb")
            answer = self._answer(str(data.get("answer_id") or ""))
            reason = str(data.get("reason") or "")
            if not value.isdigit():
                return to_card(Reply("error", t("error", lang), lang))
            if not reason.strip():   # an empty box: ask again
                note = Reply("feedback", t("thanks_down", lang), lang)
                form = {k: v for k, v in data.items() if k != "reason"}
                return to_card(answer, note=note, reason_form=form) if answer else to_card(note, reason_form=form)
            note = self.bot.add_feedback_reason(int(value), reason, lang)
            return to_card(answer, note=note) if answer else to_card(note)
        if verb == SAVE_VERB:
            return to_card(await self._save(turn, data))
        if verb == SUBMIT_VERB:
            return to_card(await self._submit(turn, data))
        # any other button (a feature's own, e.g. minutes_accept, status_open): the core decides, its reply becomes
        # the card
        return to_card(self.enrich(await self.bot.act(turn, verb, value)))

    async def _save(self, turn: Turn, data: dict) -> Reply:
        """The minutes edit form's «Lagre»: the boxes' text comes back in the invoke's data next to the draft's id."""
        minutes_id = str(data.get("id") or data.get("value") or "")
        values = {key: data[key] for key in FORM_FIELDS if key in data}
        # why here: in the card's side thread the core's "latest draft of this thread" fallback would find nothing
        # and say so in words about a thread; a form that lost its id or its text was garbled on the way
        if not minutes_id.isdigit() or not values or not all(isinstance(v, str) for v in values.values()):
            return Reply("error", t("minutes_bad_form", turn.lang or "nb"), turn.lang or "nb", ephemeral=True)
        return await self.bot.act(turn, SAVE_VERB, {"id": minutes_id, **values})

    # -- the monthly status round --------------------------------------------------------------------------------------
    def enrich(self, reply: Reply) -> Reply:
        """What a status card draws beyond the Reply: a prompt carries the pilot's form (so the person fills it in
        right there, no button press first), the overview the fields' labels. Anything else passes unchanged."""
        data = reply.data if isinstance(reply.data, dict) else {}
        if reply.kind in PROMPTS and "form" not in data:
            form = self._form(str(data.get("pilot") or ""), str(data.get("month") or ""), reply.lang or "nb")
            return replace(reply, data={**data, "form": form}) if form else reply
        if reply.kind == "status_overview" and "labels" not in data:
            lang = reply.lang or "nb"
            return replace(reply, data={**data, "labels": {f.key: f.text("label", lang)
                                                           for f in self.bot.status.round.fields}})
        return reply

    def _form(self, pilot: str, month: str, lang: str) -> dict | None:
        try:
            return self.bot.status.round.form(pilot, month, lang)
        except Exception as e:   # the prompt still goes out, with the «Fyll ut status» button instead of the form
            log.warning("no status form for %s %s: %s", pilot, month, e)
            return None

    async def _submit(self, turn: Turn, data: dict) -> Reply:
        """The status form's «Send inn»: the boxes' text comes back in the invoke's data next to pilot and month."""
        pilot, month = str(data.get("pilot") or ""), str(data.get("month") or "")
        lang = str(data.get("lang") or turn.lang or "nb")
        typed = form_values(data)
        keep = [k for k in data.get("keep") or [] if isinstance(k, str)] if isinstance(data.get("keep"), list) else []
        values = dict(typed)
        # a text too long for the card was left out of its box (status_cards.form_card): an empty box keeps it
        missing = [k for k in keep if not typed.get(k, "").strip()]
        if missing:
            current = {f["key"]: f["value"] for f in (self._form(pilot, month, lang) or {}).get("fields", [])}
            values.update({k: current[k] for k in missing if current.get(k)})
        reply = await self.bot.act(turn, SUBMIT_VERB, {"pilot": pilot, "month": month, "values": values})
        if reply.kind == "status_invalid":
            # the same form again with what was typed and the errors next to the boxes: nothing is lost
            form = self._form(pilot, month, lang)
            if form:
                reply = replace(reply, data={**reply.data, "form": form, "values": typed, "keep": keep})
        return reply

    def _answer(self, answer_id: str) -> Reply | None:
        """The answer a button sits under, to draw it again: Teams replaces the pressed card with our response."""
        row = self.bot.conversations.answer(answer_id) if answer_id else None
        if row is None:
            return None
        lang = row.get("lang") or "nb"
        citations = [CitationView(**{k: c[k] for k in CitationView.__dataclass_fields__ if k in c})
                     for c in row.get("citations") or []]
        # the same buttons the core put under the answer (bot/core.py Bot.answer)
        actions = [Action("feedback_up", "👍", answer_id), Action("feedback_down", "👎", answer_id)]
        actions += [Action("show_source", f"{t('label_show_source', lang)} {c.number}", f"{answer_id}:{c.number}")
                    for c in citations]
        return Reply("answer", row["text"], lang, citations=citations, actions=actions, answer_id=answer_id,
                     question=row.get("question") or "")

    # -- who is asking -----------------------------------------------------------------------------------------------
    async def _who(self, context: TurnContext, turn: Turn) -> None:
        """The asker's e-mail from Teams (activities carry only the AAD object id), for people the roster knows by
        e-mail alone."""
        who = context.activity.from_property
        if not turn.user_id or turn.email or who is None or not who.id:
            return
        if turn.user_id not in self.emails:
            try:
                member = await TeamsInfo.get_member(context, who.id)
            except Exception as e:   # not in Teams (tests, emulator) or the connector is down: ask without it
                log.info("Teams member lookup failed for %s: %s", turn.user_id, e)
                return
            self.emails[turn.user_id] = (member.email or member.user_principal_name or "").lower()
        turn.email = self.emails[turn.user_id]
