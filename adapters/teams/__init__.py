"""Microsoft Teams surface: personal chats, @mentions in channels and group chats, Adaptive Card answers with
👍/👎 and "Vis kilde" (Action.Execute), minutes drafts with an edit form, channel messages without a mention for an
open minutes capture (RSC ChannelMessage.Read.Group), stored conversations for proactive messages, the app package.

Only translation lives here (`to_turn`, `to_card`, one handler); what to answer is decided in `bot/`. Every botbuilder
type stays inside this folder:

- `translate.py`  activities → `Turn`, `Reply` → Adaptive Card (1.5) and invoke-response bodies
- `status_cards.py` the monthly status round's cards: the prompt carrying the form, the form with errors, the
                  confirmation, the evaluators' completeness matrix
- `handler.py`    the `ActivityHandler`: messages, installs, card buttons
- `endpoint.py`   `POST /api/messages` (and the workaround for botbuilder 4.17.1's HTTP 500 on invoke responses)
- `auth.py`       MICROSOFT_APP_* settings → botbuilder's `CloudAdapter`; who may call the endpoint
- `proactive.py`  conversation references in SQLite (`teams_conversations`) and messages sent unasked (also the
                  outbox's Teams sender: due-date reminders in a person's personal chat)
- `package.py`    the app package zip, validated against the vendored manifest schema (`manifest.schema.json`)
- `cli.py`        `husbot teams send` and `husbot teams package`

Moving to the Microsoft 365 Agents SDK (botbuilder-python is being retired) touches this folder only:

- Dependencies: `microsoft-agents-hosting-aiohttp` (brings `-hosting-core` and `-activity`) and
  `microsoft-agents-authentication-msal` replace `botbuilder-core` and `botbuilder-integration-aiohttp`.
- Imports: `ActivityHandler`, `TurnContext`, `CardFactory`, `TeamsInfo` come from `microsoft_agents.hosting.core`
  (Teams helpers from its Teams extension), `Activity`, `ConversationReference` and friends from
  `microsoft_agents.activity`. Those are pydantic models: `Activity.model_validate(body)` replaces
  `Activity().deserialize(body)`, `ref.model_dump(by_alias=True, exclude_none=True)` replaces `ref.serialize()`.
  The JSON already stored in `teams_conversations.reference` is the Bot Framework wire format, so it stays readable.
- Auth (`auth.py`): `CloudAdapter(connection_manager=MsalConnectionManager(**load_configuration_from_env(env)))`
  replaces `ConfigurationBotFrameworkAuthentication`; map MICROSOFT_APP_ID/PASSWORD/TENANT_ID/TYPE onto its
  `CONNECTIONS__SERVICE_CONNECTION__SETTINGS__{CLIENTID,CLIENTSECRET,TENANTID,AUTHTYPE}` keys instead of `BotConfig`.
  Token checking moves into aiohttp middleware (`jwt_authorization_middleware`): scope it to `/api/messages`, keep
  the CLOSED/OPEN/TOKEN modes and the tests that send no or a garbage token.
- Endpoint (`endpoint.py`): `start_agent_process(request, agent, adapter)` replaces our `process_activity` call;
  keep our own JSON/activity checks in front (400 for malformed bodies), and re-run tests/test_teams.py's
  `test_botbuilder_process_answers_500_for_an_invoke_with_a_body_and_our_endpoint_answers_200`: if the new SDK
  writes invoke bodies correctly, drop the workaround and keep only "Action.Execute answers 200 with a card".
- Proactive (`proactive.py`): `adapter.continue_conversation(...)` exists there too, but check its argument order
  (the app id comes first) and how the continuation turn addresses its reply.
- Unchanged: `translate.py`'s card JSON, the package and its schema, the CLI, the tests' fake connector (the wire
  protocol is the same), and everything in `bot/`.
"""
from __future__ import annotations

from aiohttp import web

from bot import Bot

from .auth import CLOSED, TeamsConfigError, build_adapter, mode, warn_if_open
from .endpoint import messages_endpoint
from .handler import TeamsHandler
from .package import build as build_package
from .package import manifest, validate_zip
from .proactive import NoConversation, Proactive, References
from .translate import to_activity, to_card, to_turn

MESSAGES_PATH = "/api/messages"
TEAMS_KEY = web.AppKey("teams", Proactive)


def setup(app: web.Application, bot: Bot, settings) -> None:
    """Mount `POST /api/messages` on the aiohttp app, answering with `bot`; `app[TEAMS_KEY]` sends unasked, and
    the bot's outbox reaches people in their personal Teams chat (due-date reminders, status prompts with the form)."""
    adapter = build_adapter(settings)
    references = References(bot.knowledge.store.db)
    handler = TeamsHandler(bot, references)
    app[TEAMS_KEY] = proactive = Proactive(adapter, references, settings.microsoft_app_id)
    if mode(settings) != CLOSED:   # why: with every request refused, Teams cannot send either
        async def send(recipient, reply):   # why through the handler: a status prompt carries its form
            await proactive.send_to_person(recipient, handler.enrich(reply))

        bot.outbox.register("teams", send)
    app.router.add_post(MESSAGES_PATH, messages_endpoint(adapter, handler, settings))
    warn_if_open(settings)


__all__ = ["MESSAGES_PATH", "NoConversation", "Proactive", "References", "TEAMS_KEY", "TeamsConfigError",
           "TeamsHandler", "build_package", "manifest", "mode", "setup", "to_activity", "to_card", "to_turn",
           "validate_zip"]
