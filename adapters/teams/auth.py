"""Who may call `/api/messages`, and the botbuilder adapter that checks Bot Framework tokens and signs our replies."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity
from botframework.connector.auth import AuthenticateRequestResult, ChannelValidation

from knowledge import HusbotError

log = logging.getLogger("husbot.teams")

APP_TYPES = {"singletenant": "SingleTenant", "multitenant": "MultiTenant", "userassignedmsi": "UserAssignedMSI"}
TOKEN, OPEN, CLOSED = "token", "open", "closed"


class TeamsConfigError(HusbotError):
    """The MICROSOFT_APP_* settings do not fit together."""


class Unauthorized(Exception):
    """The request has no valid Bot Framework token (or Teams is not configured)."""


@dataclass(frozen=True)
class BotConfig:
    """The attribute names botbuilder's `ConfigurationBotFrameworkAuthentication` reads."""

    APP_ID: str = ""
    APP_PASSWORD: str = ""
    APP_TYPE: str = "MultiTenant"
    APP_TENANTID: str = ""


def mode(settings) -> str:
    """TOKEN: every request needs a valid bearer token; OPEN: none is checked (development); CLOSED: all refused."""
    if settings.microsoft_app_id:
        return TOKEN
    return OPEN if settings.teams_allow_unauthenticated else CLOSED


def bot_config(settings) -> BotConfig:
    app_type = APP_TYPES.get((settings.microsoft_app_type or "MultiTenant").strip().lower())
    if app_type is None:
        raise TeamsConfigError(f"MICROSOFT_APP_TYPE must be one of {', '.join(APP_TYPES.values())}, "
                               f"not '{settings.microsoft_app_type}'")
    app_id, password = settings.microsoft_app_id, settings.microsoft_app_password
    tenant = settings.microsoft_app_tenant_id
    if app_id:
        if app_type != "UserAssignedMSI" and not password:
            raise TeamsConfigError(f"MICROSOFT_APP_ID is set but MICROSOFT_APP_PASSWORD is not ({app_type} needs both)")
        if app_type in ("SingleTenant", "UserAssignedMSI") and not tenant:
            raise TeamsConfigError(f"MICROSOFT_APP_TYPE={app_type} needs MICROSOFT_APP_TENANT_ID")
        return BotConfig(app_id, password, app_type, tenant)
    # why empty: botbuilder then neither checks incoming tokens nor signs outgoing calls (development only)
    return BotConfig()


def build_adapter(settings) -> CloudAdapter:
    """The botbuilder adapter for these settings; raises TeamsConfigError when they do not fit together."""
    config = bot_config(settings)
    # why a class attribute: botbuilder's public-cloud channel validation reads the metadata URL from there (None =
    # Microsoft's); setting it on every build keeps one server's URL from outliving it. Tests serve their own.
    ChannelValidation.open_id_metadata_endpoint = settings.teams_openid_metadata_url or None
    return CloudAdapter(ConfigurationBotFrameworkAuthentication(config))


def warn_if_open(settings) -> None:
    """Say loudly at start-up that anyone can talk to (and make us post to any serviceUrl from) /api/messages."""
    if mode(settings) == OPEN:
        log.warning("!" * 100)
        log.warning("TEAMS: HUSBOT_TEAMS_ALLOW_UNAUTHENTICATED is on and MICROSOFT_APP_ID is empty: /api/messages "
                    "accepts requests WITHOUT any token and replies to whatever serviceUrl they name.")
        log.warning("TEAMS: use this only for local development and tests, never on a reachable server.")
        log.warning("!" * 100)
    elif mode(settings) == CLOSED:
        log.info("Teams is off: set MICROSOFT_APP_ID (and MICROSOFT_APP_PASSWORD) to accept /api/messages")
    elif settings.teams_allow_unauthenticated:
        log.info("Teams: MICROSOFT_APP_ID is set, so HUSBOT_TEAMS_ALLOW_UNAUTHENTICATED is ignored")


def check_header(settings, header: str) -> None:
    """Refuse at once, before the body is read: Teams is not configured, or a token is needed and there is none."""
    current = mode(settings)
    if current == CLOSED:
        raise Unauthorized("Teams is not configured (MICROSOFT_APP_ID is empty)")
    if current == TOKEN and not header.startswith("Bearer "):
        raise Unauthorized("no bearer token")


async def authenticate(adapter: CloudAdapter, settings, activity: Activity, header: str) -> AuthenticateRequestResult:
    """Check the request's bearer token with botbuilder; raise Unauthorized when it is missing or not valid."""
    check_header(settings, header)
    try:
        return await adapter.bot_framework_authentication.authenticate_request(activity, header)
    except Exception as e:   # why broad: a garbage token surfaces as a jwt DecodeError, not only PermissionError
        raise Unauthorized(f"{type(e).__name__}: {e}") from None
