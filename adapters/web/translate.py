"""JSON request bodies in, `Turn`s out; `Reply`s back out as JSON. Nothing here decides what to answer."""
from __future__ import annotations

import ipaddress
import re

from bot import Reply, Turn
from knowledge.pilots import PILOTS

CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ALL_PILOTS = {"", "alle", "all"}
# why a side thread: the web chat asks for a 👎 reason in its own form (`Bot.add_feedback_reason`); button turns
# kept in the chat's thread would leave the core waiting for a reason and swallow the next question as one.
BUTTON_THREAD = "buttons"

# The API's own complaints about malformed requests (the bot's texts live in bot/messages.py).
ERRORS = {
    "not_json": "Forespørselen må være et JSON-objekt, f.eks. "
                '{"text": "Hva er Statens hus?", "conversation_id": "abc123"}.',
    "field": "Feltet «{name}» mangler eller er ikke {kind}.",
    "conversation_id": "Feltet «conversation_id» må være 1–64 tegn: bokstaver, tall, - eller _.",
    "pilot": "Ukjent pilot «{pilot}». Velg en av {pilots}, eller la feltet stå tomt for alle.",
    "reason": "Skriv en kort begrunnelse før du sender.",
    "too_large": "Forespørselen er for stor. Korte ned teksten og prøv igjen.",
    "cross_site": "Forespørselen kom fra en annen nettside og ble avvist. Åpne husbot-siden selv og spør der.",
    "upload": "Send fila som multipart/form-data med feltene «file» (.txt, .md eller .docx), «conversation_id» og "
              "gjerne «text», f.eks. «referat importer styringsgruppe 2025-03-04».",
    "minutes_form": "Feltet «value» må være et JSON-objekt med referatets nummer i «id» og tekst i «decisions», "
                    "«actions» og «questions», f.eks. {\"id\": 3, \"decisions\": \"Budsjettet godkjennes.\"}.",
}
SAVE_KIND = "minutes_save"
FORM_FIELDS = ("decisions", "actions", "questions")   # the minutes edit form's boxes (bot/minutes.py)


class BadRequest(Exception):
    """A request the API cannot read; the message is shown to the user as is."""


def text_field(body: dict, name: str, *, kind: str = "tekst", required: bool = True) -> str:
    value = body.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise BadRequest(ERRORS["field"].format(name=name, kind=kind))
    return value


def conversation_id(body: dict) -> str:
    value = text_field(body, "conversation_id")
    if not CONVERSATION_ID.match(value):
        raise BadRequest(ERRORS["conversation_id"])
    return value


def pilot_filter(body: dict) -> str | None:
    value = body.get("pilot")
    if value is None or (isinstance(value, str) and value.strip().lower() in ALL_PILOTS):
        return None
    if isinstance(value, str):
        for pilot in PILOTS:
            if pilot.lower() == value.strip().lower():
                return pilot
    raise BadRequest(ERRORS["pilot"].format(pilot=value, pilots=", ".join(PILOTS)))


def language(body: dict) -> str | None:
    value = body.get("lang")
    return value if value in ("nb", "en") else None


def role_for(remote: str | None) -> str | None:
    """Who is asking: the chat has no accounts, so someone on this machine is the admin (like the CLI);
    anyone else (if the server was bound to a public address) is left to the roster, which makes them a guest."""
    try:
        return "admin" if remote and ipaddress.ip_address(remote).is_loopback else None
    except ValueError:
        return None


def to_turn(body: dict, remote: str | None, *, text: str = "", thread: str = "") -> Turn:
    """A chat message (or button press) from the web page as a platform-neutral turn."""
    return Turn(text=text, platform="web", user_id="local", channel_id=conversation_id(body), thread_id=thread,
                role=role_for(remote), lang=language(body), pilot_filter=pilot_filter(body))


def action_value(body: dict, kind: str) -> str | dict:
    """A button's value: text, or for the minutes edit form's «Lagre» the form itself ({"id", "decisions", …})."""
    if kind != SAVE_KIND:
        return text_field(body, "value")
    value = body.get("value")
    # why checked here: without an id the core would look for a draft in the buttons' side thread and find none
    if not isinstance(value, dict) or not str(value.get("id") or "").isdigit():
        raise BadRequest(ERRORS["minutes_form"])
    values = {k: value[k] for k in FORM_FIELDS if k in value}
    if not values or not all(isinstance(v, str) for v in values.values()):
        raise BadRequest(ERRORS["minutes_form"])
    return {"id": str(value["id"]), **values}


def feedback_id(body: dict) -> int:
    value = body.get("feedback_id")
    # why ASCII digits: "²".isdigit() is true, but int() refuses it (#8)
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isascii()
                                                                  and value.isdigit())):
        raise BadRequest(ERRORS["field"].format(name="feedback_id", kind="et tall"))
    return int(value)


def to_json(reply: Reply | None) -> dict:
    """The reply exactly as the core built it; `kind: none` when the core chose not to answer."""
    return reply.as_dict() if reply is not None else {"kind": "none", "text": ""}
