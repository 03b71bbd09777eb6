"""The web side of the monthly status round: the leader's form behind a signed link, and the evaluator dashboard.

`/status/form?t=…` opens the form for the pilot and month the link was signed for (bot/status/links.py); it posts
back with a per-form CSRF token. `/status` is the dashboard: sign in with a token from `husbot token create`, then
the completeness matrix, charts, each answer's versions and the CSV/XLSX export. What an answer means and whether
it is valid is decided in bot/status; this module only reads requests and draws pages.
"""
from __future__ import annotations

import asyncio
import functools
import secrets
import tempfile
from pathlib import Path

from aiohttp import web

from bot import Bot, Turn
from bot.status import StatusError, export_rows, month_label, parse_month, to_csv, to_xlsx
from bot.status import links
from bot.status.calendar import month_of, months_between, previous_month
from bot.status.round import pilot_name
from bot.sessions import Sessions
from bot.tokens import Tokens
from knowledge.pilots import PILOTS

from . import charts, status_pages as pages
from .guard import LoginLimiter, same_origin

SESSION_COOKIE = "husbot_status"
CSRF_COOKIE = "husbot_form"
SESSION_SECONDS = 8 * 3600
DASHBOARD_ROLES = ("evaluator", "admin")
CHART_MONTHS = 6
MAX_EXPORT_MONTHS = 120
BUDGET_KEYS = {"budget": ("budsjett", "budget"), "spent": ("forbrukt", "spent"), "forecast": ("prognose", "forecast")}
# why no 'unsafe-inline' and no script at all: the pages are plain forms, so injected markup could run nothing
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
           # why: the form's address carries its token; no other site may learn it from a Referer header
           "Referrer-Policy": "no-referrer"}


def html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8", headers=HEADERS)


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, **HEADERS})


def secure(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto", "") == "https"


def signed_in(handler):
    """Only evaluators and admins with a live session (and a token not revoked since) get past; others see the login."""
    @functools.wraps(handler)
    async def wrapped(self, request: web.Request) -> web.Response:
        session = self.sessions.get(request.cookies.get(SESSION_COOKIE))
        if session and not self._token_alive(session["token_id"]):
            self.sessions.end(request.cookies.get(SESSION_COOKIE))
            session = None
        if session is None:
            return html(pages.login_page(), 200 if request.path == "/status" else 401)
        return await handler(self, request, session)
    return wrapped


class StatusWeb:
    def __init__(self, bot: Bot):
        self.bot = bot
        self.round = bot.status.round
        self.settings = bot.knowledge.settings
        self.tokens = Tokens(bot.knowledge.store.db)
        self.sessions = Sessions(bot.knowledge.store.db, SESSION_SECONDS)
        self.limiter = LoginLimiter()
        self._secret: bytes | None = None

    @property
    def secret(self) -> bytes:
        if self._secret is None:
            self._secret = links.key(self.settings.home, self.round.bot.knowledge.store)
        return self._secret

    def _token_alive(self, token_id: int) -> bool:
        return any(t["id"] == token_id and not t["revoked_at"] for t in self.tokens.list())

    # -- the leader's form ---------------------------------------------------------------------------------------
    def _link(self, token: str) -> tuple[dict, dict]:
        """The link's pilot and month, and the roster entry it was made for; a refusal page (403) otherwise."""
        try:
            link = links.read_token(self.secret, token, self.round.now().timestamp())
        except links.LinkError as e:
            raise web.HTTPForbidden(text=pages.message_page("Lenken virker ikke", pages.TEXT[f"link_{e.reason}"]),
                                    content_type="text/html", headers=HEADERS) from None
        person = next((p for p in self.bot.roster.people() if str(p["id"]) == link["person_id"]), None)
        allowed = person is not None and (person["email"] or "").lower() == link["email"].lower() and (
            person["role"] in DASHBOARD_ROLES
            or (person["role"] in ("leader", "member") and person["pilot"] == link["pilot"]))
        if not allowed:
            raise web.HTTPForbidden(text=pages.message_page("Lenken virker ikke", pages.TEXT["link_person"].format(
                pilot=link["pilot"])), content_type="text/html", headers=HEADERS)
        return link, person

    def _csrf(self, nonce: str, token: str) -> str:
        return links.sign(self.secret, f"csrf|{nonce}|{token}")

    async def form(self, request: web.Request) -> web.Response:
        token = request.query.get("t", "")
        link, _ = self._link(token)
        form = self.round.form(link["pilot"], link["month"], "nb")
        # why reuse the cookie: two tabs with the form must both be able to send
        nonce = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        response = html(pages.form_page(form, token, self._csrf(nonce, token)))
        response.set_cookie(CSRF_COOKIE, nonce, path="/status/form", httponly=True, samesite="Strict",
                            secure=secure(request))
        return response

    async def submit(self, request: web.Request) -> web.Response:
        try:
            data = await request.post()
        except web.HTTPRequestEntityTooLarge:
            return html(pages.message_page("For stort skjema", pages.TEXT["too_large"]), 413)
        token = str(data.get("t") or "")
        link, person = self._link(token)
        nonce, sent = request.cookies.get(CSRF_COOKIE, ""), str(data.get("csrf") or "")
        if not nonce or not sent or not secrets.compare_digest(sent, self._csrf(nonce, token)):
            return html(pages.message_page("Skjemaet ble ikke sendt", pages.TEXT["csrf"]), 403)
        values = {f.key: str(data.get(f.key) or "") for f in self.round.fields}
        turn = Turn("", platform="web", user_id=f"person:{person['id']}", user_name=person["name"] or person["email"],
                    channel_id="status-form", email=person["email"] or "", role=person["role"],
                    pilot=person["pilot"] or None, lang="nb")
        reply = await self.bot.act(turn, "status_submit", {"pilot": link["pilot"], "month": link["month"],
                                                            "values": values})
        if reply.kind == "status_saved":
            return html(pages.saved_page(reply.text, reply.data, token))
        form = self.round.form(link["pilot"], link["month"], "nb")
        csrf = self._csrf(nonce, token)
        if reply.kind == "status_invalid":
            return html(pages.form_page(form, token, csrf, values, reply.data["errors"]), 422)
        return html(pages.form_page(form, token, csrf, values, notice=reply.text), 400)

    # -- the dashboard -------------------------------------------------------------------------------------------
    async def login(self, request: web.Request) -> web.Response:
        # why an origin check although the login form has no session yet: another site must not sign a visitor in
        # with the attacker's token (login CSRF)
        if not same_origin(request, self.settings.public_url):
            return html(pages.login_page(pages.TEXT["cross_site"]), 403)
        address = request.remote or "-"
        wait = self.limiter.retry_after(address)
        if wait:
            response = html(pages.login_page(pages.TEXT["login_limited"]), 429)
            response.headers["Retry-After"] = str(wait)
            return response
        data = await request.post()
        who = self.tokens.verify(str(data.get("token") or ""))
        if who is None:
            self.limiter.failed(address)
            return html(pages.login_page(pages.TEXT["login_unknown"]), 403)
        self.limiter.succeeded(address)
        if who["role"] not in DASHBOARD_ROLES:
            return html(pages.login_page(pages.TEXT["login_role"]), 403)
        response = see_other("/status")
        response.set_cookie(SESSION_COOKIE, self.sessions.start(who), path="/status", httponly=True,
                            samesite="Strict", secure=secure(request), max_age=SESSION_SECONDS)
        return response

    async def logout(self, request: web.Request) -> web.Response:
        sid = request.cookies.get(SESSION_COOKIE)
        session = self.sessions.get(sid)
        data = await request.post()
        response = see_other("/status")
        if session and not secrets.compare_digest(str(data.get("csrf") or ""), session["csrf"]):
            return response     # why keep the cookie: a forged «Logg ut» from another page must not sign anyone out
        self.sessions.end(sid)
        response.del_cookie(SESSION_COOKIE, path="/status")
        return response

    def _month(self, value: str | None) -> str:
        """A month from the query (YYYY-MM); this month when none is given. StatusError when it is not one."""
        return parse_month(value) if value else month_of(self.round.now().date())

    def _months(self, selected: str) -> list[str]:
        book = self.round.book
        known = {r["month"] for r in book.rounds()} | set(book.answered_months())
        known |= {month_of(self.round.now().date()), selected}
        return sorted(known, reverse=True)

    @signed_in
    async def dashboard(self, request: web.Request, session: dict) -> web.Response:
        notice = ""
        try:
            month = self._month(request.query.get("month"))
        except StatusError as e:
            month, notice = self._month(None), e.text("nb")
        data = self.bot.status.overview_data(month)
        labels = {f.key: f.text("label", "nb") for f in self.round.fields}
        window = months_between(self._back(month, CHART_MONTHS - 1), month)
        svg = {"ontime": charts.on_time(window, self._on_time(window)),
               "fields": charts.completeness(self._completeness(data, labels), len(PILOTS)),
               "budget": charts.budget(self._budget(window))}
        return html(pages.dashboard_page(session, data, self._months(month), labels, svg, session["csrf"],
                                         self.settings.timezone, notice), 400 if notice else 200)

    @staticmethod
    def _back(month: str, n: int) -> str:
        for _ in range(n):
            month = previous_month(month)
        return month

    def _on_time(self, months: list[str]) -> list[tuple[str, list[str]]]:
        book = self.round.book
        rounds = {m for m in months if book.round(m)}
        rows = []
        for pilot in PILOTS:
            states = []
            for m in months:
                first = book.first(pilot, m)
                states.append(("late" if first["late"] else "answered") if first else
                              ("missing" if m in rounds else "none"))
            rows.append((pilot, states))
        return rows

    @staticmethod
    def _completeness(data: dict, labels: dict[str, str]) -> list[tuple[str, dict[str, int]]]:
        out = []
        for key in data["fields"]:
            counts = {"filled": 0, "unchanged": 0, "empty": 0, "missing": 0}
            for row in data["pilots"]:
                counts[row["fields"].get(key, "missing")] += 1
            out.append((labels[key], counts))
        return out

    def _budget(self, months: list[str]) -> list[dict]:
        """Per pilot the newest answer in the window that gives a budget or spending figure."""
        keys = {f.key for f in self.round.fields if f.kind == "number"}
        pick = {what: next((k for k in names if k in keys), None) for what, names in BUDGET_KEYS.items()}
        rows = []
        for pilot in PILOTS:
            row = {"pilot": pilot, "budget": None, "spent": None, "forecast": None, "note": ""}
            for m in reversed(months):
                answer = self.round.book.latest(pilot, m)
                found = {what: _number((answer or {}).get("answers", {}).get(k or "")) for what, k in pick.items()}
                if found["budget"] is not None or found["spent"] is not None:
                    row.update(found, note="" if m == months[-1] else charts.short_month(m))
                    break
            rows.append(row)
        return rows

    @signed_in
    async def answer(self, request: web.Request, session: dict) -> web.Response:
        try:
            pilot, month = pilot_name(request.query.get("pilot", "")), self._month(request.query.get("month", ""))
        except StatusError as e:
            return html(pages.message_page("Ukjent svar", e.text("nb")), 400)
        versions = self.round.book.versions(pilot, month)
        if not versions:
            return html(pages.message_page("Ingen svar", f"{pilot} har ikke svart for {month_label(month)}."), 404)
        labels = {f.key: f.text("label", "nb") for f in self.round.fields}
        return html(pages.answer_page(pilot, month, versions, labels, self.settings.timezone))

    @signed_in
    async def export(self, request: web.Request, session: dict) -> web.Response:
        q = request.query
        fmt = q.get("format", "csv")
        try:
            first, last = self._month(q.get("from", "")), self._month(q.get("to", ""))
        except StatusError as e:
            return html(pages.message_page("Kan ikke lage eksporten", e.text("nb")), 400)
        if fmt not in ("csv", "xlsx") or first > last or len(months_between(first, last)) > MAX_EXPORT_MONTHS:
            return html(pages.message_page("Kan ikke lage eksporten", "Velg CSV eller XLSX og en periode der «fra» "
                                           f"kommer før «til» (høyst {MAX_EXPORT_MONTHS} måneder)."), 400)
        rows = export_rows(self.round.book, self.round.fields, first, last, self.settings.timezone)
        name = f"husbot-status-{first}_{last}.{fmt}"
        disposition = {"Content-Disposition": f'attachment; filename="{name}"', **HEADERS}
        if fmt == "csv":
            # why the byte-order mark: Excel opens a CSV as UTF-8 (æøå intact) only with it
            return web.Response(body=("\ufeff" + to_csv(rows)).encode("utf-8"), headers=disposition,
                                content_type="text/csv", charset="utf-8")
        body = await asyncio.to_thread(_xlsx_bytes, rows)
        return web.Response(body=body, headers=disposition,
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _xlsx_bytes(rows: list[dict]) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        return to_xlsx(rows, Path(tmp) / "status.xlsx").read_bytes()


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def setup(app: web.Application, bot: Bot) -> None:
    """Add the status form and the dashboard to `app`."""
    view = StatusWeb(bot)
    app.router.add_get("/status", view.dashboard)
    app.router.add_post("/status/login", view.login)
    app.router.add_post("/status/logout", view.logout)
    app.router.add_get("/status/answer", view.answer)
    app.router.add_get("/status/export", view.export)
    app.router.add_get("/status/form", view.form)
    app.router.add_post("/status/form", view.submit)
