"""The status form's fields: configuration, not code. A bundled TOML list, or the file `status_fields_file` names."""
from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import StatusError

DEFAULT_FILE = Path(__file__).with_name("fields.toml")
KINDS = ("text", "number", "yesno")
# why 20 000: a long monthly report fits; a pasted 50 KB document gets a clear per-field error instead of a timeout
MAX_CHARS = 20_000
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
YES = {"ja", "j", "yes", "y", "true", "1", "x"}
NO = {"nei", "n", "no", "false", "0"}


@dataclass(frozen=True)
class Field:
    key: str
    label: dict                      # {"nb": …, "en": …}
    help: dict = field(default_factory=dict)
    kind: str = "text"
    required: bool = False
    section: dict = field(default_factory=dict)   # fields with the same section become one passage
    max_chars: int = MAX_CHARS

    def text(self, what: str, lang: str) -> str:
        d = getattr(self, what) or ({} if what != "section" else self.label)
        return d.get(lang) or d.get("nb") or next(iter(d.values()), "")

    def as_dict(self, lang: str | None = None) -> dict:
        if lang is None:
            return asdict(self)
        return {"key": self.key, "label": self.text("label", lang), "help": self.text("help", lang),
                "kind": self.kind, "required": self.required, "section": self.text("section", lang),
                "max_chars": self.max_chars}


def _texts(value, key: str, what: str) -> dict:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        return {"nb": value}
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return dict(value)
    raise StatusError("status_fields_bad", problem=f"field '{key}': {what} must be text or {{ nb = …, en = … }}")


def load_fields(path: str | Path | None = None) -> list[Field]:
    """The fields from a TOML file of [[field]] tables (default: the bundled list)."""
    path = Path(path) if path else DEFAULT_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise StatusError("status_fields_bad", problem=f"{path}: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise StatusError("status_fields_bad", problem=f"{path}: {e}") from None
    items = data.get("field")
    if not isinstance(items, list) or not items:
        raise StatusError("status_fields_bad", problem=f"{path}: no [[field]] tables")
    out, seen = [], set()
    for n, item in enumerate(items, 1):
        key = str(item.get("key", ""))
        if not _KEY.match(key):
            raise StatusError("status_fields_bad", problem=f"field {n}: key '{key}' must be lower-case letters, "
                                                           "digits and _")
        if key in seen:
            raise StatusError("status_fields_bad", problem=f"field '{key}' appears twice")
        seen.add(key)
        kind = str(item.get("kind", "text"))
        if kind not in KINDS:
            raise StatusError("status_fields_bad", problem=f"field '{key}': kind must be one of {', '.join(KINDS)}")
        label = _texts(item.get("label"), key, "label")
        if not label:
            raise StatusError("status_fields_bad", problem=f"field '{key}' needs a label")
        unknown = set(item) - {"key", "label", "help", "kind", "required", "section", "max_chars"}
        if unknown:
            raise StatusError("status_fields_bad", problem=f"field '{key}': unknown setting(s) {', '.join(sorted(unknown))}")
        out.append(Field(key, label, _texts(item.get("help"), key, "help"), kind, bool(item.get("required", False)),
                         _texts(item.get("section"), key, "section"),
                         min(int(item.get("max_chars", MAX_CHARS)), MAX_CHARS)))
    return out


def parse_number(text: str) -> float | None:
    """'1 200 000', '1.200.000 kr', '1200000,50', '-3' → a number; None when it is not one."""
    s = re.sub(r"(?i)\s*(kr\.?|nok|,-)\s*$", "", text.strip()).replace("\u00a0", "").replace(" ", "")
    if re.fullmatch(r"-?\d{1,3}(\.\d{3})+(,\d+)?", s):
        s = s.replace(".", "")
    s = s.replace(",", ".")
    if not re.fullmatch(r"-?\d+(\.\d+)?", s):
        return None
    return float(s)


def format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0")


def clean_values(fields: list[Field], values: dict) -> tuple[dict[str, str], dict[str, tuple[str, dict]]]:
    """The values as stored (numbers normalised, yes/no as ja/nei, blanks dropped) and the errors per field key.

    An error is (message key, message args), so each surface can show it in the user's language next to its box.
    """
    by_key = {f.key: f for f in fields}
    clean: dict[str, str] = {}
    errors: dict[str, tuple[str, dict]] = {}
    for key, raw in (values or {}).items():
        f = by_key.get(str(key))
        if f is None:
            errors[str(key)] = ("status_field_unknown", {"field": key, "keys": ", ".join(by_key)})
            continue
        text = "" if raw is None else str(raw).replace("\r\n", "\n").strip()
        if len(text) > f.max_chars:
            errors[f.key] = ("status_field_too_long", {"n": len(text), "max": f.max_chars})
            continue
        if not text:
            continue
        if f.kind == "number":
            number = parse_number(text)
            if number is None:
                errors[f.key] = ("status_field_not_number", {"value": text[:40]})
                continue
            text = format_number(number)
        elif f.kind == "yesno":
            word = text.lower().rstrip(".!")
            if word not in YES | NO:
                errors[f.key] = ("status_field_not_yesno", {"value": text[:40]})
                continue
            text = "ja" if word in YES else "nei"
        clean[f.key] = text
    for f in fields:
        if f.required and f.key not in clean and f.key not in errors:
            errors[f.key] = ("status_field_required", {})
    return clean, errors
