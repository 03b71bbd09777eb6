"""The Slack app manifest: paste it into https://api.slack.com/apps → Create New App → From a manifest."""
from __future__ import annotations

# channels:history / groups:history and their message events: an open minutes capture reads the channel's messages
BOT_SCOPES = ["app_mentions:read", "channels:history", "chat:write", "commands", "files:read", "groups:history", "im:history",
              "im:read", "im:write", "users:read", "users:read.email"]
BOT_EVENTS = ["app_mention", "message.channels", "message.groups", "message.im"]
PLACEHOLDER_URL = "https://<your-host>"


def manifest(settings, url: str | None = None, socket_mode: bool | None = None) -> dict:
    """The app manifest for husbot; request URLs point at `url` (default a placeholder) unless Socket Mode is on."""
    socket_mode = bool(settings.slack_app_token) if socket_mode is None else socket_mode
    events_url = f"{(url or PLACEHOLDER_URL).rstrip('/')}/slack/events"
    command = {"command": "/husbot", "description": "Spør husbot om Pilot Statens hus",
               "usage_hint": "[spørsmål | hjelp | kilde N | referat start|stopp | oppgaver | status svar|oversikt]",
               "should_escape": False}
    events: dict = {"bot_events": list(BOT_EVENTS)}
    interactivity: dict = {"is_enabled": True}
    if not socket_mode:   # over Socket Mode Slack sends everything through the WebSocket instead
        command["url"] = events_url
        events["request_url"] = events_url
        interactivity["request_url"] = events_url
    return {
        "display_information": {
            "name": "husbot",
            "description": "Svarer på spørsmål om Pilot Statens hus, med kildehenvisninger.",
            "background_color": "#1d4f5c",
        },
        "features": {
            "app_home": {"home_tab_enabled": False, "messages_tab_enabled": True,
                         "messages_tab_read_only_enabled": False},
            "bot_user": {"display_name": "husbot", "always_online": True},
            "slash_commands": [command],
        },
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }
