"""The Teams app package: manifest.json and two icons in a zip, checked against the manifest schema it declares."""
from __future__ import annotations

import io
import json
import re
import zipfile
from importlib import metadata
from pathlib import Path
from urllib.parse import urlparse

from knowledge import HusbotError

from .icons import ACCENT, COLOR_SIZE, OUTLINE_SIZE, color_icon, inspect, outline_icon

MANIFEST_VERSION = "1.17"
SCHEMA_URL = f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
# the manifest schemas we can check offline, by the manifestVersion a manifest declares
SCHEMAS = {"1.17": Path(__file__).with_name("manifest.schema.json")}
SCOPES = ["personal", "team", "groupChat"]
RSC_PERMISSIONS = [{"name": "ChannelMessage.Read.Group", "type": "Application"}]


class PackageError(HusbotError):
    """The Teams app package cannot be built, or what was built is not valid."""


def manifest(settings, url: str | None = None) -> dict:
    """manifest.json for this husbot: the Azure Bot's app id, three scopes, the commands, the server's domain."""
    app_id = settings.microsoft_app_id
    if not app_id:
        raise PackageError("set MICROSOFT_APP_ID (the Azure Bot's app id) before building the Teams app package")
    base = (url or settings.public_url or "").rstrip("/")
    host = urlparse(base).hostname if base else None
    if not host:
        raise PackageError("give the server's public https address: --url https://husbot.example.no "
                           "or HUSBOT_PUBLIC_URL")
    return {
        "$schema": SCHEMA_URL,
        "manifestVersion": MANIFEST_VERSION,
        "version": _version(),
        "id": app_id,
        "developer": {"name": "Pilot Statens hus", "websiteUrl": base, "privacyUrl": base, "termsOfUseUrl": base},
        "name": {"short": "husbot", "full": "husbot – spør hva Pilot Statens hus har lært"},
        "description": {
            "short": "Svar med kildehenvisninger fra rapportene om Pilot Statens hus.",
            "full": ("husbot svarer på spørsmål om Pilot Statens hus (Stad, Orkland, Narvik og Lyngdal) med "
                     "nummererte kilder fra rapporter, statusnotater og referater. Skriv til husbot i en chat, "
                     "eller nevn @husbot i en kanal. «hjelp» viser eksempler, «kilde 2» viser hele teksten bak "
                     "kilde [2], og 👍/👎 under svaret forteller om svaret var nyttig."),
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": ACCENT,
        "bots": [{
            "botId": app_id,
            "scopes": SCOPES,
            "supportsFiles": False,
            "isNotificationOnly": False,
            "commandLists": [{"scopes": SCOPES, "commands": [
                {"title": "hjelp", "description": "Hva husbot kan svare på, med eksempler"},
                {"title": "kilde", "description": "«kilde 2» viser hele teksten bak kilde [2] i forrige svar"},
                {"title": "status", "description": "Månedsstatus: «status svar» åpner skjemaet, «status oversikt» viser "
                                                   "hvem som har svart"},
            ]}],
        }],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [host],
        # why: a minutes capture («referat start») collects a channel's messages without an @mention; Teams only
        # delivers those to a bot the team owner consented to with this resource-specific permission
        "authorization": {"permissions": {"resourceSpecific": RSC_PERMISSIONS}},
        # why: Teams wants the Entra app named next to RSC permissions; `resource` is unused by RSC (this is the
        # form single sign-on for bots would use)
        "webApplicationInfo": {"id": app_id, "resource": f"api://botid-{app_id}"},
    }


def build(settings, output: str | Path, url: str | None = None) -> Path:
    """Write the zip to upload in Teams ("Upload a custom app") and return its path; refuses an invalid package."""
    data = manifest(settings, url)
    files = {"manifest.json": json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"),
             "color.png": color_icon(), "outline.png": outline_icon()}
    problems = validate(files)
    if problems:
        raise PackageError("the Teams app package is not valid:\n" + "\n".join(f"- {p}" for p in problems))
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in files.items():
            z.writestr(name, content)
    output.write_bytes(buffer.getvalue())
    return output


def validate_zip(path: str | Path) -> list[str]:
    """What is wrong with a package zip (empty when Teams should accept it)."""
    try:
        with zipfile.ZipFile(path) as z:
            return validate({name: z.read(name) for name in z.namelist()})
    except (OSError, zipfile.BadZipFile) as e:
        return [f"not a readable zip: {e}"]


def validate(files: dict[str, bytes]) -> list[str]:
    """Check manifest.json against the schema of the manifestVersion it declares, and the icons it names."""
    if "manifest.json" not in files:
        return ["manifest.json is missing (it must be at the top of the zip)"]
    try:
        data = json.loads(files["manifest.json"])
    except ValueError as e:
        return [f"manifest.json is not JSON: {e}"]
    if not isinstance(data, dict):
        return ["manifest.json is not a JSON object"]
    declared = str(data.get("manifestVersion"))
    if declared not in SCHEMAS:
        return [f"no schema for manifestVersion {declared!r} (husbot checks {', '.join(SCHEMAS)})"]
    schema = json.loads(SCHEMAS[declared].read_text(encoding="utf-8"))
    problems = [f"manifest.json {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
                for e in sorted(_validator(schema).iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))]
    if f"/v{declared}/" not in str(data.get("$schema", "")):
        problems.append(f"$schema does not point at the v{declared} schema")
    # why beyond the schema: Teams refuses an upload whose version is not plain semver (the schema only caps length)
    if not re.match(schema["definitions"]["semver"]["pattern"], str(data.get("version", ""))):
        problems.append(f"version {data.get('version')!r} is not MAJOR.MINOR.PATCH")
    icons = data.get("icons") if isinstance(data.get("icons"), dict) else {}
    for kind, size in (("color", COLOR_SIZE), ("outline", OUTLINE_SIZE)):
        problems += _check_icon(files, icons.get(kind), kind, size)
    return problems


def _check_icon(files: dict[str, bytes], name, kind: str, size: int) -> list[str]:
    if not isinstance(name, str) or name not in files:
        return [f"the {kind} icon {name!r} named in manifest.json is not in the package"]
    try:
        png = inspect(files[name])
    except Exception as e:   # pymupdf raises its own errors for a file that is no image
        return [f"{name} is not a PNG image ({e})"]
    problems = []
    if (png.width, png.height) != (size, size):
        problems.append(f"{name} is {png.width}x{png.height}; the {kind} icon must be {size}x{size}")
    if kind == "outline" and not png.only_white_or_transparent:
        problems.append(f"{name} must be white on a transparent background")
    return problems


def _validator(schema: dict):
    import jsonschema

    # why draft 7 although the file says draft-04: Microsoft's schema uses `const` (manifestVersion), which a
    # draft-04 validator would silently ignore
    return jsonschema.Draft7Validator(schema)


def _version() -> str:
    try:
        return metadata.version("husbot")
    except metadata.PackageNotFoundError:
        return "1.0.0"
