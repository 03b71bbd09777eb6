"""Rule-based reading of meeting minutes: decisions, action items (owner, due date), open questions and topics.

No language model runs offline, so this is patterns plus Norwegian (and English) date parsing relative to the
meeting date. Measured against hand labels in eval/minutes_labelled.jsonl (tests/test_minutes.py keeps the floor).
"""
from __future__ import annotations

import calendar
import re
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from knowledge.textnorm import fold


@dataclass
class ActionItem:
    text: str
    owner: str | None = None
    due: str | None = None            # ISO date when the phrase could be resolved
    due_text: str = ""                # the phrase as written ("innen fredag", "før neste møte")
    due_flagged: bool = False         # a deadline was written but is not a date we could resolve: check it


@dataclass
class Extraction:
    decisions: list[str] = field(default_factory=list)
    actions: list[ActionItem] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    participants: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


# -- dates ------------------------------------------------------------------------------------------------------
MONTHS = {"januar": 1, "jan": 1, "january": 1, "februar": 2, "feb": 2, "february": 2, "mars": 3, "mar": 3,
          "march": 3, "april": 4, "apr": 4, "mai": 5, "may": 5, "juni": 6, "jun": 6, "june": 6, "juli": 7,
          "jul": 7, "july": 7, "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9, "oktober": 10,
          "okt": 10, "october": 10, "oct": 10, "november": 11, "nov": 11, "desember": 12, "des": 12,
          "december": 12, "dec": 12}
WEEKDAYS = {"mandag": 0, "måndag": 0, "monday": 0, "tirsdag": 1, "tysdag": 1, "tuesday": 1, "onsdag": 2,
            "wednesday": 2, "torsdag": 3, "thursday": 3, "fredag": 4, "friday": 4, "lørdag": 5, "laurdag": 5,
            "saturday": 5, "søndag": 6, "sundag": 6, "sunday": 6}
NUMBERS = {"en": 1, "ei": 1, "ett": 1, "one": 1, "a": 1, "to": 2, "two": 2, "tre": 3, "three": 3, "fire": 4,
           "four": 4, "fem": 5, "five": 5, "seks": 6, "six": 6}
_MON = "|".join(sorted(MONTHS, key=len, reverse=True))
_WD = "|".join(WEEKDAYS)
_NUM = r"\d{1,2}|" + "|".join(NUMBERS)
# words that introduce a deadline; a date right after one of them is the due date
MARKER = r"(?:frist|innen|innan|senest|seinast|til|før|på|by|due|before|until|within|deadline|ferdig)"
# deadlines that are clear but not a calendar date: kept as text, not flagged
EVENT = re.compile(r"\b(?:(?:før|til|innen|innan|på)\s+(?:neste|førstkommende|kommende)\s+\w*(?:møte|samling|kaffemøte)\w*|"
                   r"(?:before|by|at|until)\s+the\s+next\s+\w*\s?meeting)\b", re.I)
# vague deadlines: kept as text and flagged for a human to check
VAGUE = re.compile(r"\b(?:(?:før|etter|innen|innan|til)\s+(?:sommeren|sommerferien|fellesferien|ferien|jul(?:a|en)?|"
                   r"påske(?:n)?|nyttår|høsten|våren)|snarest(?: mulig)?|asap|fortløpende|så snart som mulig|"
                   r"as soon as possible|after the summer|before (?:the )?summer|before christmas)\b", re.I)
_DATE_RES = [
    ("iso", 3, re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")),
    ("dmy", 3, re.compile(r"(?<![\d.])(\d{1,2})\.(\d{1,2})\.(?:(\d{4}|\d{2})\b)?")),
    ("dmon", 3, re.compile(rf"\b(\d{{1,2}})\.?\s*(?:[–-]\s*\d{{1,2}}\.?\s*)?({_MON})\b\.?(?:\s+(\d{{4}}))?", re.I)),
    ("mond", 3, re.compile(rf"\b({_MON})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}}))?", re.I)),
    ("week", 2, re.compile(r"\b(?:uke|veke|week|u\.)\s*(\d{1,2})\b", re.I)),
    ("rel", 2, re.compile(r"\b(i\s+morgen|i\s+morgon|tomorrow|i\s+dag|today|i\s+overmorgen)\b", re.I)),
    ("nextweek", 2, re.compile(r"\b(neste\s+uke|neste\s+veke|next\s+week|denne\s+uken|this\s+week)\b", re.I)),
    ("span", 2, re.compile(rf"\b(?:om|innen|innan|within|in)\s+({_NUM})\s+(uker?|veker?|dager?|dagar|weeks?|days?)\b", re.I)),
    ("endof", 2, re.compile(rf"\b(?:(?:ved\s+)?utgangen\s+av|slutten\s+av|(?:the\s+)?end\s+of(?:\s+the)?|i\s+løpet\s+av)\s+"
                            rf"(året|måneden|year|month|{_MON})\b", re.I)),
    ("weekday", 1, re.compile(rf"\b({_WD})\b", re.I)),
]
_MARKER_BEFORE = re.compile(rf"\b{MARKER}\s*:?\s*(?:(?:den|the)\s+)?(?:(?:{_WD})\s+)?$", re.I)
_STRONG_MARKER = re.compile(r"\b(?:frist|innen|innan|senest|seinast|deadline|due)\s*:?\s*(.{1,40}?)\s*(?:[.,;]|$)", re.I)


def _safe(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _friday(d: date) -> date:
    return d + timedelta(days=4 - d.weekday())


def _resolve(kind: str, m: re.Match, meeting: date) -> date | None:
    g = m.groups()
    if kind == "iso":
        return _safe(int(g[0]), int(g[1]), int(g[2]))
    if kind in ("dmy", "dmon", "mond"):
        if kind == "dmy":
            day, month, year = int(g[0]), int(g[1]), g[2]
        elif kind == "dmon":
            day, month, year = int(g[0]), MONTHS[g[1].lower()], g[2]
        else:
            day, month, year = int(g[1]), MONTHS[g[0].lower()], g[2]
        if not 1 <= month <= 12:
            return None
        if year:
            y = int(year) + (2000 if len(year) == 2 else 0)
            return _safe(y, month, day)
        # no year: the next such day on or after the meeting
        d = _safe(meeting.year, month, day)
        if d is None and not (month == 2 and day == 29):
            return None
        if d is None or d < meeting:
            d = _safe(meeting.year + 1, month, day)
        return d
    if kind == "week":
        week = int(g[0])
        if not 1 <= week <= 53:
            return None
        for year in (meeting.year, meeting.year + 1):
            try:
                d = date.fromisocalendar(year, week, 5)   # why Friday: «innen uke 12» means by the end of that week
            except ValueError:
                continue
            if d >= meeting:
                return d
        return None
    if kind == "rel":
        w = " ".join(g[0].lower().split())
        return meeting + timedelta(days={"i dag": 0, "today": 0, "i overmorgen": 2}.get(w, 1))
    if kind == "nextweek":
        w = g[0].lower()
        this = "denne" in w or "this" in w
        return _friday(meeting) if this else _friday(meeting + timedelta(days=7))
    if kind == "span":
        n = int(g[0]) if g[0].isdigit() else NUMBERS[g[0].lower()]
        unit = g[1].lower()
        return meeting + timedelta(days=n * (7 if unit.startswith(("uke", "veke", "week")) else 1))
    if kind == "endof":
        w = g[0].lower()
        if w in ("året", "year"):
            return date(meeting.year, 12, 31)
        month = meeting.month if w in ("måneden", "month") else MONTHS[w]
        year = meeting.year + (1 if month < meeting.month else 0)
        return date(year, month, calendar.monthrange(year, month)[1])
    if kind == "weekday":
        ahead = (WEEKDAYS[g[0].lower()] - meeting.weekday()) % 7 or 7
        return meeting + timedelta(days=ahead)
    return None


def parse_due(text: str, meeting: date | None) -> tuple[str | None, str, bool]:
    """(ISO date or None, the phrase as written, flagged) for the deadline in `text`; ('', False) when there is none."""
    meeting = meeting or date.today()
    cands = []
    for kind, prio, rx in _DATE_RES:
        for m in rx.finditer(text):
            if kind == "dmy" and re.search(r"\bkl\.?\s*$", text[:m.start()], re.I):
                continue
            marked = kind == "span" and not m.group(0).lower().startswith("in ") or \
                bool(_MARKER_BEFORE.search(text[:m.start()]))
            cands.append((prio + (10 if marked else 0), -m.start(), kind, m))
    # «fredag 8. september»: the weekday only names the date that follows
    dates = [c for c in cands if c[2] in ("dmon", "dmy", "iso")]
    cands = [c for c in cands if not (c[2] == "weekday" and any(0 <= d[3].start() - c[3].end() <= 2 for d in dates))]
    # a span inside a longer match (the «mar» of «mars») is not a second date
    cands = [c for c in cands if not any(o is not c and o[3].start() <= c[3].start() and o[3].end() >= c[3].end()
                                         and (o[3].end() - o[3].start()) > (c[3].end() - c[3].start()) for o in cands)]
    event = EVENT.search(text)
    if event and not any(c[0] >= 10 for c in cands):
        return None, event.group(0), False
    vague = VAGUE.search(text)
    if vague and not any(c[0] >= 10 for c in cands):
        return None, vague.group(0), True
    if cands:
        _, _, kind, m = max(cands, key=lambda c: (c[0], c[1]))
        d = _resolve(kind, m, meeting)
        phrase = _with_marker(text, m)
        return (d.isoformat(), phrase, False) if d else (None, phrase, True)
    strong = _STRONG_MARKER.search(text)
    if strong and strong.group(1).strip():
        return None, strong.group(0).strip(" .,;"), True
    return None, "", False


def _with_marker(text: str, m: re.Match) -> str:
    before = _MARKER_BEFORE.search(text[:m.start()])
    start = before.start() if before else m.start()
    return " ".join(text[start:m.end()].split()).strip(" .,;:")


# -- lines and sentences ----------------------------------------------------------------------------------------
_BULLET = re.compile(r"^\s*(?:[-•*·▪◦–]|\d{1,2}[.)](?=\s)|[a-z]\))\s*")
_NAME_WORD = r"[A-ZÆØÅ][\wæøåÆØÅ\-]*"
_SPEAKER = re.compile(rf"^({_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})\s*:\s+(.+)$")
LABELS = set("vedtak beslutning besluttet konklusjon enighet decision decided agreed resolved ansvar ansvarlig frist due "
             "owner responsible deadline tema topic sak item dato date deltakere deltagere present attendees action "
             "aksjon tiltak oppgave oppfølging spørsmål question status program erfaringer vertskap referent "
             "merknad orientering eventuelt agenda innspill kommentar note notes til time tid sted place møte "
             "neste konklusjonar vedtaket".split())
_PARTICIPANTS = re.compile(r"^(?:til stede|tilstede|deltakere|deltagere|deltok|present|attendees|participants)\s*:\s*(.+)$", re.I)
_TOPIC = re.compile(r"^(?:(?:sak|item|punkt|agendapunkt)\s*\d+(?:/\d+)?\s*[:.\-–]?\s*(.*)|"
                    r"(?:tema|topic|faglig innslag|eneste sak)\s*:\s*(.+)|#+\s*(.+))$", re.I)
_NUMBERED_HEADING = re.compile(r"^\d{1,2}\.\s+([A-ZÆØÅ][^.?!]{2,70})$")
_NOT_TOPIC = re.compile(r"^(?:eventuelt|aob|any other business|godkjenning av|ingen saker)", re.I)
_ABBREV = re.compile(r"(?:\b(?:kl|ca|nr|jf|bl\.a|f\.eks|mv|osv|St|Meld|pkt|evt|inkl|ref)\.|\b\d{1,2}\.)$")


def _sentences(line: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+(?=[A-ZÆØÅ@«\"(])", line)
    out: list[str] = []
    for p in parts:
        if out and _ABBREV.search(out[-1]) and not re.match(r"[A-ZÆØÅ][a-zæøå]+\s*:", p):
            out[-1] += " " + p
        else:
            out.append(p)
    return [s.strip() for s in out if s.strip()]


def split_speaker(line: str) -> tuple[str | None, str]:
    """'Gerd: Jeg sender …' → ('Gerd', 'Jeg sender …'); a label such as 'Vedtak:' is not a speaker."""
    m = _SPEAKER.match(line)
    if m and fold(m.group(1).split()[0]) not in {fold(x) for x in LABELS} and len(m.group(1)) <= 40:
        return m.group(1), m.group(2)
    return None, line


# -- decisions --------------------------------------------------------------------------------------------------
_NEGATIVE = re.compile(r"\b(?:ingen|ikke|no|not|nothing|intet)\b.{0,20}\b(?:vedtak|besluttet|beslutning\w*|decisions?|decided|agreed)\b|"
                       r"\b(?:vedtak|decisions?)\s*:\s*(?:ingen|none|-)\s*\.?$", re.I)
_DECISION_LABEL = re.compile(r"^(?:vedtak|vedtaket|beslutning|besluttet|konklusjon|konklusjonar|enighet|decision|decided|"
                             r"agreed|resolved|resolution)\s*(?:\([^)]*\))?\s*[:\-–]\s*(.+)$", re.I)
# the agreement itself follows these words; for «vedtok»/«decided» the whole sentence reads better
_AGREED = re.compile(r"\b(?:(?:vi\s+)?(?:ble|er|var|vart|blei)\s+(?:alle\s+)?enige\s+om|(?:det\s+)?ble\s+(?:det\s+)?enighet\s+om|"
                     r"(?:det\s+var\s+)?enighet\s+om|enige\s+om|semje\s+om|we\s+agreed|it\s+was\s+agreed|agreed|"
                     r"besluttet)\s*:?\s*(?:(?:at|å|to|that|on)\s+)?(.+)$", re.I)
_DECIDED = re.compile(r"\b(?:vedtok|vedtar|vedtek|vedtatt|besluttet|beslutta|bestemte|fattet\s+vedtak|decided|resolved|"
                      r"approved)\b", re.I)
_NOTED = re.compile(r"\b(?:tatt|tas|tok\s+\w+(?:\s+\w+)?)\s+til\s+(?:orientering|etterretning)\b|"
                    r"[-–]\s*(?:godkjent|vedtatt|approved)\.?$", re.I)


def _decision(s: str) -> str | None:
    if _NEGATIVE.search(s) or s.endswith("?"):
        return None
    m = _DECISION_LABEL.match(s)
    if m:
        return _clean(m.group(1))
    m = _AGREED.search(s)
    if m and not _DECIDED.search(s[:m.start()]):
        return _clean(m.group(1))
    if _DECIDED.search(s) or _NOTED.search(s):
        return _clean(s)
    return None


# -- action items -----------------------------------------------------------------------------------------------
_NB_VERBS = ("ta tek følg sjekk lag send skriv ordn undersøk kall book inviter forbered kontakt oppdater sett innkall "
             "avklar utarbeid hent distribuer legg koordiner del ferdigstill svar gi kartlegg sørg planlegg bestill "
             "rydd skaff lever drøft sammenstill spør purr følgj lag mal utred gjennomfør ring").split()
_EN_VERBS = ("send check follow draft book prepare circulate contact update invite write share organise organize "
             "schedule review set look take coordinate collect call compile ask finalise finalize distribute "
             "arrange email reach confirm").split()
_VERB = ("(?:" + "|".join(sorted({f"{v}{s}" for v in _NB_VERBS for s in ("", "e", "er", "ar")}
                                 | {f"{v}{s}" for v in _EN_VERBS for s in ("", "s", "es")}, key=len, reverse=True))
         + r")\b(?!-)")
_IRREG = r"(?:tar|gir|går|tek|får|ser\s+til)\b"
_MODAL = r"(?i:(?:will|shall|is\s+to|are\s+to|to|skal|vil|kan|må|skal\s+få)\s+)"
_OWNER_NAME = rf"(?:@[\w.\-]+|{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,3}}(?:\s+[a-zæøå]+){{0,2}}?|(?i:alle|all|each|hver)\s+[a-zæøå]+(?:\s+[a-zæøå]+)?)"
_OWNER_VERB = re.compile(rf"^(?i:(?:da|så|ok|okay)\W+)?((?:{_OWNER_NAME})(?:\s+(?:og|and|&)\s+(?:{_OWNER_NAME}))?)\s+"
                         rf"(?:\([^)]*\)\s+)?{_MODAL}?(?i:({_VERB}|{_IRREG}))")
_SELF_VERB = re.compile(rf"^(?:(?:da|så|ok|okay)\W+)?(?:jeg|eg|i)?\s*{_MODAL}?({_VERB}|{_IRREG})", re.I)
_SELF_START = re.compile(r"^(?:(?:da|så|ok|okay)\W+)?(?:jeg|eg|i)\b|^(?:will|skal|kan)\b", re.I)
_NOT_OWNER = set("vi det den dette de man han hun alle we they it the this that there these i jeg eg du you "
                 "hvem hva når hvor who what when where why how og and men but så da ok også ingen ingenting nothing none no "
                 "nobody noen someone".split())
_ACTION_LABEL = re.compile(r"^(?:oppgave|oppgåve|tiltak|aksjon|aksjonspunkt|oppfølging|oppfølgjing|action(?:\s+item)?|"
                           r"todo|to do|gjøremål)\s*[:\-–]\s*(.+)$", re.I)
_ASSIGNED = re.compile(r"\b(?:ansvar(?:lig)?|ansvarleg|owner|responsible|eier)(?:\s+for\s+([^:]{1,60}))?\s*:\s*"
                       r"(@[\w.\-]+|[^,.;()]{1,60}?)(?=\s*(?:[,.;(]|\s[-–]\s|\bfrist\b|\bdue\b|$))", re.I)
_MENTION = re.compile(r"(?<![\w.])@([\w.\-]+\w)")
_DUE_LABEL = re.compile(r"\b(?:frist|deadline)\s*:\s*(.+?)\s*(?=[.;]\s|$)", re.I)
_FRAGMENT = re.compile(r"^(?:ansvar(?:lig)?|ansvarleg|owner|responsible|frist|due|deadline)\s*:", re.I)
# what was decided, without who decided it: the task made from a decision
_DECISION_CORE = re.compile(r"^.*?\b(?:vedtok|vedtar|vedtek|besluttet|bestemte|decided|resolved|rår\s+til|tilrår|anbefaler)"
                            r"(?:\s+enstemmig|\s+unanimously)?\s+(?:(?:at|å|to|that)\s+)?", re.I)


def _owner_from(s: str, speaker: str | None) -> tuple[str | None, int]:
    """The owner named in a clause and where the rest of the clause starts (or (None, 0))."""
    m = _ASSIGNED.search(s)
    if m:
        return m.group(2).strip().lstrip("@"), 0
    m = _OWNER_VERB.match(s)
    if m and m.group(1).split()[0].lower().lstrip("@") not in _NOT_OWNER | LABELS:
        return m.group(1).strip().lstrip("@"), m.start(2)
    if m and m.group(1).split()[0].lower() in ("alle", "all", "each", "hver"):
        return m.group(1).strip(), m.start(2)
    if speaker and _SELF_START.match(s):
        sm = _SELF_VERB.match(s)
        if sm:
            return speaker, sm.start(1)
    mention = _MENTION.search(s)
    if mention:
        return mention.group(1), 0
    return None, 0


def _action(s: str, speaker: str | None, meeting: date, is_decision: bool) -> ActionItem | None:
    label = _ACTION_LABEL.match(s)
    body = label.group(1) if label else s
    owner, start, clause = None, 0, 0
    clause_starts = [0] + [m.end() for m in re.finditer(r"\s[–—;]\s|,\s+(?=@)", body)]
    for cs in clause_starts:
        owner, rel = _owner_from(body[cs:], speaker)
        if owner:
            start, clause = cs + rel, cs
            break
    assigned = _ASSIGNED.search(body)
    if is_decision and not (assigned or _MENTION.search(body)):
        return None
    if not (label or owner):
        return None
    due, due_text, flagged = parse_due(body[clause:], meeting)
    text = _action_text(body[start:], due_text)
    if assigned and assigned.group(1):      # «Ansvar for håndbok: Ellinor»
        text = assigned.group(1).strip()
    if is_decision:
        text = _DECISION_CORE.sub("", _DECISION_LABEL.sub(r"\1", text)) or text
    if not text:
        return None
    return ActionItem(_clean(text), owner, due, due_text, flagged)


def _action_text(text: str, due_text: str) -> str:
    if due_text:
        text = text.replace(due_text, " ")
    text = _ASSIGNED.sub(" ", text)
    text = _DUE_LABEL.sub(" ", text)
    text = re.sub(rf"^\s*{_MODAL}", "", text.strip())
    if text.startswith("@"):
        text = re.sub(r"^@[\w.\-]+\s+", "", text)
    text = re.sub(r"\s+[-–,]\s*$", "", " ".join(text.split()))
    return text.strip(" ,.;:-–")


def _clean(s: str) -> str:
    return " ".join(s.split()).strip(" .;:,-–")


# -- the whole text ---------------------------------------------------------------------------------------------
def extract(messages: list[tuple[str | None, str]], meeting: date | None = None) -> Extraction:
    """Decisions, action items, questions, topics and participants from (author, text) messages or lines."""
    meeting = meeting or date.today()
    out = Extraction()
    last = None      # the last decision or action, for a following «Ansvar: X. Frist: Y»
    for author, raw in messages:
        for raw_line in (raw or "").split("\n"):
            line = _BULLET.sub("", raw_line.strip()).strip()
            if not line:
                continue
            speaker, line = split_speaker(line)
            speaker = speaker or author
            m = _PARTICIPANTS.match(line)
            if m:
                out.participants += [p.strip() for p in re.split(r",|;|\bog\b|\band\b", m.group(1)) if p.strip()]
                continue
            m = _TOPIC.match(line) or _NUMBERED_HEADING.match(raw_line.strip())
            if m:
                topic = _clean(next(g for g in m.groups() if g is not None) if m.groups() else "")
                if topic and not _NOT_TOPIC.match(topic) and len(topic) <= 90 and not _decision(topic):
                    out.topics.append(topic)
                    last = None
                    if not re.match(r"^(?:tema|topic|faglig innslag|eneste sak)\b", line, re.I):
                        continue
                if not topic:
                    continue
            for s in _sentences(line):
                last = _sentence(s, speaker, meeting, out, last)
    out.decisions = _unique(out.decisions)
    return out


def _sentence(s: str, speaker, meeting: date, out: Extraction, last):
    q = re.match(r"^(?:åpent spørsmål|åpne spørsmål|open question|spørsmål|question|uavklart|ubesvart|"
                 r"opent spørsmål)\s*:\s*(.+)$", s, re.I)
    if q or s.endswith("?"):
        out.questions.append(_clean(q.group(1) if q else s) + ("?" if not (q.group(1) if q else s).endswith("?") else ""))
        return last
    if _FRAGMENT.match(s):
        return _attach(s, meeting, out, last)
    decision = _decision(s)
    if decision:
        out.decisions.append(decision)
    item = _action(s, speaker, meeting, bool(decision))
    if item:
        out.actions.append(item)
        return item
    return decision


def _attach(s: str, meeting: date, out: Extraction, last):
    """«Ansvar: Kari. Frist: 15. mars.» after a decision or task belongs to it."""
    if last is None:
        return None
    if isinstance(last, str):   # a decision: it becomes a task as well
        item = ActionItem(_DECISION_CORE.sub("", last) or last)
        out.actions.append(item)
        last = item
    m = _ASSIGNED.search(s)
    if m and not last.owner:
        last.owner = m.group(2).strip().lstrip("@")
    if re.search(r"\b(?:frist|due|deadline)\b", s, re.I) and not last.due and not last.due_text:
        last.due, last.due_text, last.due_flagged = parse_due(s, meeting)
    return last


def _unique(items: list[str]) -> list[str]:
    seen, out = set(), []
    for x in items:
        if fold(x) not in seen:
            seen.add(fold(x))
            out.append(x)
    return out


def extract_text(text: str, meeting: date | None = None) -> Extraction:
    """Extraction from pasted or uploaded minutes ('Name: …' lines count as that person speaking)."""
    return extract([(None, text)], meeting)


def summary(ex: Extraction, limit: int = 5) -> str:
    """A short line of topics: the agenda items, else the decisions."""
    items = ex.topics or ex.decisions
    return "; ".join(items[:limit])
