"""Microsoft Teams adapter (placeholder until the Teams adapter lands): refuses every request."""
from aiohttp import web


def setup(app, bot, settings) -> None:
    async def refuse(request):
        return web.json_response({"error": "Teams-adapteren er ikke konfigurert"}, status=503)
    app.router.add_post("/api/messages", refuse)
