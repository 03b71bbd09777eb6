"""Teams with MICROSOFT_APP_ID set: botbuilder's real Bot Framework token validation, offline (issue #8).

The tests play Microsoft's part: they serve OpenID metadata and a JWKS on 127.0.0.1, sign tokens with an RSA key
made here, and point husbot at the metadata (`teams_openid_metadata_url`). Everything after that is botbuilder's own
public-cloud channel validation: issuer, signature, expiry, audience = app id, the serviceurl claim, endorsements.
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from botframework.connector.auth import MicrosoftAppCredentials
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from test_teams import APP_ID, QUESTION, fake, start, texts  # noqa: F401 (fixture)

ISSUER = "https://api.botframework.com"
KID = "husbot-test-key"
OUTBOUND = "outbound-token-from-entra"


class IdentityProvider:
    """Bot Framework's OpenID metadata and signing keys on 127.0.0.1, and tokens signed as the channel signs them.

    Why a thread and plain http.server: botbuilder fetches the metadata with blocking `requests.get` on the event
    loop, so a server on that same loop could never answer.
    """

    def __init__(self, endorsements=("msteams",)):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**jwk, "kid": KID, "use": "sig", "endorsements": list(endorsements)}]}
        self.requests: list[str] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                provider.requests.append(self.path)
                body = {"/v1/.well-known/openidconfiguration": provider.metadata,
                        "/v1/.well-known/keys": provider.jwks}.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(body or {}).encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def metadata_url(self) -> str:
        return f"{self.base}/v1/.well-known/openidconfiguration"

    @property
    def metadata(self) -> dict:
        return {"issuer": ISSUER, "jwks_uri": f"{self.base}/v1/.well-known/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"]}

    def token(self, service_url: str, *, key=None, kid: str = KID, **claims) -> str:
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": APP_ID, "serviceurl": service_url, "nbf": now - 60, "iat": now - 60,
                   "exp": now + 3600, **claims}
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": kid})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider():
    p = IdentityProvider()
    yield p
    p.close()


@pytest.fixture
def outbound(monkeypatch):
    """The bot's own token for its replies. Why faked: MSAL fetches it from Entra over https only, which a test on
    127.0.0.1 cannot be; the reply path is otherwise the real one, and the fake connector sees this token."""
    monkeypatch.setattr(MicrosoftAppCredentials, "get_access_token", lambda self, force_refresh=False: OUTBOUND)


async def start_secured(tmp_path, fake, provider):  # noqa: F811
    return await start(tmp_path, fake, microsoft_app_id=APP_ID, microsoft_app_password="secret",
                       teams_allow_unauthenticated=False, teams_openid_metadata_url=provider.metadata_url)


async def test_a_valid_channel_token_is_accepted_and_the_answer_reaches_the_connector(tmp_path, fake, provider,
                                                                                     outbound):
    h, knowledge = await start_secured(tmp_path, fake, provider)
    try:
        status, _ = await h.post(h.personal(QUESTION),
                                 headers={"Authorization": f"Bearer {provider.token(fake.url)}"})
        assert status == 200
        [message] = await fake.wait_for(1)
        assert any("Innovasjonshub Orkland" in line for line in texts(message["attachments"][0]["content"]))
        assert message["_auth"] == f"Bearer {OUTBOUND}"
        assert provider.requests == ["/v1/.well-known/openidconfiguration", "/v1/.well-known/keys"]
        assert knowledge.store.db["answers"].count == 1
    finally:
        await h.server.close()
        knowledge.close()


def _other_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# each case with the reason botbuilder gives, so that a test cannot pass because the keys were never reached
REFUSED = {
    "wrong audience": (lambda p, url: p.token(url, aud="11111111-2222-4333-8444-555555555555"), "Invalid AppId"),
    "expired": (lambda p, url: p.token(url, exp=int(time.time()) - 3600, iat=int(time.time()) - 7200,
                                       nbf=int(time.time()) - 7200), "ExpiredSignatureError"),
    "bad signature": (lambda p, url: p.token(url, key=_other_key()), "InvalidSignatureError"),
    "unknown key id": (lambda p, url: p.token(url, kid="not-in-the-jwks"), "IndexError"),
    "wrong issuer": (lambda p, url: p.token(url, iss="https://sts.windows.net/evil/"), "No valid identity"),
    "serviceurl of another host": (lambda p, url: p.token("https://attacker.example/"), "service_url claim"),
    "no serviceurl claim": (lambda p, url: p.token(url, serviceurl=None), "service_url claim"),
    "missing Authorization": (None, "no bearer token"),
}


@pytest.mark.parametrize("case", REFUSED)
async def test_a_request_without_a_valid_channel_token_is_refused_and_nothing_is_sent(tmp_path, fake, provider,
                                                                                     outbound, case, caplog):
    make, reason = REFUSED[case]
    h, knowledge = await start_secured(tmp_path, fake, provider)
    try:
        headers = {"Authorization": f"Bearer {make(provider, fake.url)}"} if make else {}
        with caplog.at_level(logging.INFO, logger="husbot.teams"):
            status, body = await h.post(h.personal(QUESTION), headers=headers)
        assert status == 401 and body == {"error": "unauthorized"}
        assert any(reason in r.getMessage() for r in caplog.records if "refused" in r.getMessage()), caplog.text
        await asyncio.sleep(0.2)
        assert fake.calls == []
        assert knowledge.store.db["answers"].count == 0
        assert list(knowledge.store.db["teams_conversations"].rows) == []
    finally:
        await h.server.close()
        knowledge.close()


async def test_a_key_not_endorsed_for_teams_is_refused(tmp_path, fake, outbound, caplog):
    provider = IdentityProvider(endorsements=("webchat",))
    h, knowledge = await start_secured(tmp_path, fake, provider)
    try:
        with caplog.at_level(logging.INFO, logger="husbot.teams"):
            status, _ = await h.post(h.personal(QUESTION),
                                     headers={"Authorization": f"Bearer {provider.token(fake.url)}"})
        assert status == 401 and "Could not validate endorsement key" in caplog.text
        await asyncio.sleep(0.2)
        assert fake.calls == []
    finally:
        await h.server.close()
        knowledge.close()
        provider.close()


async def test_without_the_setting_husbot_uses_microsofts_metadata(tmp_path, fake):
    from botframework.connector.auth import ChannelValidation

    h, knowledge = await start(tmp_path, fake, microsoft_app_id=APP_ID, microsoft_app_password="secret",
                               teams_allow_unauthenticated=False)
    try:
        assert ChannelValidation.open_id_metadata_endpoint is None   # botbuilder then uses login.botframework.com
    finally:
        await h.server.close()
        knowledge.close()
