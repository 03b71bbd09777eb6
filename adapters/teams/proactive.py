"""Stored Teams conversation references (SQLite `teams_conversations`) and messages sent to them unasked."""
from __future__ import annotations

import json
import logging
import time

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes, ConversationReference

from bot import Reply, Roster
from knowledge import HusbotError

from .translate import channel_of, conversation_kind, to_activity

log = logging.getLogger("husbot.teams")
TABLE = "teams_conversations"


class NoConversation(HusbotError):
    """Nobody to send to: husbot has never talked in that chat or channel."""


def reference_of(activity: Activity) -> ConversationReference:
    """Where to post later: for a channel the channel itself (a new post), not the reply chain this came from."""
    ref = TurnContext.get_conversation_reference(activity)
    ref.activity_id = None
    if conversation_kind(activity) == "channel" and ref.conversation is not None:
        ref.conversation.id = channel_of(activity)
    return ref


def _id_in(data: dict, key: str) -> str:
    """`channelData[key].id` when it is text (a number or a string where the object belongs was a logged crash, #8)."""
    value = data.get(key)
    ident = value.get("id") if isinstance(value, dict) else None
    return ident if isinstance(ident, str) else ""


class References:
    """One row per personal chat, group chat and channel husbot has been in (on first contact and on install)."""

    def __init__(self, db):
        self.db = db

    def remember(self, activity: Activity, *, if_new: bool = False) -> dict | None:
        """Store (or refresh) the activity's conversation; with `if_new`, only when unknown or its serviceUrl moved."""
        if activity.conversation is None or not activity.conversation.id or not activity.service_url:
            return None
        ref = reference_of(activity)
        if if_new:
            known = self.get(ref.conversation.id)
            if known and known["service_url"] == activity.service_url:
                return known
        who = activity.from_property
        data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
        row = {"conversation_id": ref.conversation.id, "kind": conversation_kind(activity),
               "user_id": (who.id if who else "") or "", "aad_object_id": (who.aad_object_id if who else "") or "",
               "user_name": (who.name if who else "") or "", "channel_id": channel_of(activity),
               "team_id": _id_in(data, "team"),
               "tenant_id": activity.conversation.tenant_id or _id_in(data, "tenant"),
               "service_url": activity.service_url, "reference": json.dumps(ref.serialize(), ensure_ascii=False),
               "updated_at": time.time()}
        with self.db.atomic():
            self.db[TABLE].upsert(row, pk="conversation_id")
        return row

    def forget(self, activity: Activity) -> None:
        """The app was removed from this chat or team: stop posting there."""
        if activity.conversation is not None and activity.conversation.id:
            with self.db.atomic():
                self.db.execute(f"delete from {TABLE} where conversation_id = ?",
                                [reference_of(activity).conversation.id])

    def get(self, conversation_id: str) -> dict | None:
        rows = list(self.db[TABLE].rows_where("conversation_id = ?", [conversation_id], limit=1))
        return rows[0] if rows else None

    def all(self) -> list[dict]:
        return list(self.db[TABLE].rows_where(order_by="updated_at desc"))

    def find(self, to: str) -> list[dict]:
        """Conversations for a conversation id, a channel id, a person's AAD object id / Teams id, or their e-mail."""
        to = (to or "").strip()
        if not to:
            return []
        found = self.get(to)
        if found:
            return [found]
        rows = list(self.db[TABLE].rows_where("channel_id = ?", [to], order_by="updated_at desc"))
        if rows:
            return rows[:1]
        person = to
        if "@" in to:   # why the roster: Teams activities carry no e-mail; the roster maps it to the AAD object id
            people = [p for p in Roster(self.db).people() if p["email"] == to.lower() and p["teams_aad_id"]]
            if not people:
                return []
            person = people[0]["teams_aad_id"]
        return self.personal(person)

    def personal(self, person: str) -> list[dict]:
        """The newest personal chat with a person (AAD object id or Teams user id), as a one-row list."""
        if not person:
            return []
        return list(self.db[TABLE].rows_where("kind = 'personal' and (aad_object_id = ? or user_id = ?)",
                                              [person, person], order_by="updated_at desc", limit=1))


class Proactive:
    """Send a message to a stored conversation without being asked (status rounds, `husbot teams send`)."""

    def __init__(self, adapter: CloudAdapter, references: References, app_id: str = ""):
        self.adapter, self.references, self.app_id = adapter, references, app_id

    async def send(self, to: str, message: str | Reply) -> list[str]:
        """Post `message` to every conversation `to` names; returns their conversation ids."""
        rows = self.references.find(to)
        if not rows:
            raise NoConversation(f"no stored Teams conversation for '{to}': the person must have written to husbot "
                                 "(or installed it) first, or the channel must have had husbot added")
        for row in rows:
            await self.send_to(row, message)
        return [row["conversation_id"] for row in rows]

    async def send_to_person(self, recipient, reply: Reply) -> None:
        """The outbox's Teams sender (`bot.outbox.register("teams", …)`): a direct message in the personal chat
        stored for the roster person's AAD object id; raises NoConversation (the outbox records a failure) when
        there is none."""
        rows = self.references.personal(recipient.teams_aad_id)
        if not rows:
            raise NoConversation(f"no stored personal Teams chat with {recipient.label()} "
                                 f"(AAD object id {recipient.teams_aad_id or '-'}): they must write to husbot or "
                                 "install it first")
        await self.send_to(rows[0], reply)

    async def send_to(self, row: dict, message: str | Reply) -> None:
        ref = ConversationReference().deserialize(json.loads(row["reference"]))
        activity = (Activity(type=ActivityTypes.message, text=message) if isinstance(message, str)
                    else to_activity(message))

        async def post(context: TurnContext):
            # why: botbuilder would otherwise send it as a reply to the made-up id of its continuation event
            context.activity.id = None
            await context.send_activity(activity)

        await self.adapter.continue_conversation(ref, post, self.app_id)
        log.info("proactive message sent to %s (%s)", row["conversation_id"], row["kind"])
