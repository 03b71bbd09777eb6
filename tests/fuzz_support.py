"""Hypothesis profiles and strategies for the fuzz tests (tests/test_fuzz_*.py, docs/reliability.md).

`HYPOTHESIS_PROFILE=long` (what `make reliability` sets) tries ten times as many cases, with fresh random seeds;
the normal run is derandomized, so `make test` tries the same cases every time and cannot turn red by luck.
"""
from __future__ import annotations

import json
import os
from collections import Counter

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

_COMMON = dict(deadline=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                                      HealthCheck.function_scoped_fixture, HealthCheck.large_base_example])
settings.register_profile("normal", derandomize=True, database=None, **_COMMON)
settings.register_profile("long", database=None, **_COMMON)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "normal")
settings.load_profile(PROFILE)
SCALE = 10 if PROFILE == "long" else 1

# cases actually tried per target in this process (printed with -s, copied into docs/reliability.md)
CASES: Counter = Counter()


def examples(n: int) -> settings:
    """`n` cases in the normal run, 10n under HYPOTHESIS_PROFILE=long."""
    return settings(max_examples=n * SCALE)


def report(target: str) -> None:
    print(f"\nfuzz cases: {target}: {CASES[target]}")


# -- text ------------------------------------------------------------------------------------------------------------
# syntax that means something to SQLite FTS, regular expressions, Markdown, Slack mrkdwn, HTML, format strings
SYNTAX = ['"', "'", "*", "NEAR(", "OR", "AND NOT", "^", "$", "(?P<x>", "\\", "[", "]", "{1,2}", "(.*)+", "%s", "{}",
          "{0}", "%(x)s", "<script>", "</div>", "&amp;", "<@U1>", "<!channel>", "<#C1|x>", "```", "|", "--", ";",
          "drop table passages;", "\x00", "\u202e", "\ufeff", "\u200b", "\r\n", "\t", "\x1b[31m", "…", "ø", "Å",
          "🏛️", "\U0010ffff", "ﬁ", "İ", "ß", "\u0301"]
WORDS = ["kilde", "kilde 1", "kilde 99", "hjelp", "help", "?", "referat", "referat start", "referat stopp",
         "referat importer", "referat godta", "referat endre 1 oppgave 2", "oppgaver", "oppgave ferdig 1", "status",
         "status svar", "status oversikt", "status send", "og i Narvik?", "Stad", "Orkland", "Narvik", "Lyngdal",
         "Hva er Innovasjonshub Orkland?", "sammenlign pilotene", "Vedtak:", "Ansvar:", "innen fredag",
         "2025-03-04", "2025-13-45", "@kari", "<at>husbot</at>"]

any_char = st.characters(codec=None, exclude_categories=())          # every code point, surrogates included
printable = st.characters(exclude_categories=("Cs",))                   # every code point JSON/UTF-8 can carry
control = st.sampled_from([chr(c) for c in [*range(0, 32), 127, *range(0x80, 0xa0)]])
fragment = st.one_of(st.text(printable, max_size=30), st.sampled_from(SYNTAX), st.sampled_from(WORDS),
                     st.text(control, max_size=5))


@st.composite
def questions(draw, chars=printable):
    """Any text a person (or a script) might send: unicode, control characters, syntax, commands, up to 100 KB."""
    pieces = draw(st.lists(st.one_of(fragment, st.text(chars, max_size=20)), max_size=8))
    text = " ".join(pieces) if draw(st.booleans()) else "".join(pieces)
    if draw(st.integers(0, 19)) == 0:      # now and then: huge (past the 2000-character limit, up to 100 KB)
        size = draw(st.sampled_from([2001, 5000, 100_000, 100_001]))
        text = (text or "x") * (size // max(len(text), 1) + 1)
        text = text[:size]
    return text


# -- JSON-ish values and payload mutation ----------------------------------------------------------------------------
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-2**70, 2**70),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(printable, max_size=20),
                    st.sampled_from(["", "0", "-1", "1:1", "²", "٣", "999999999999999999999", "nan", "D1", "C1",
                                     "U1", "{}", "[]", "null", "true"]))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                             st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                           max_leaves=6)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


def _set(value, path, new, delete=False):
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        out = dict(value)
        if delete and not rest:
            out.pop(head, None)
        else:
            out[head] = _set(value[head], rest, new, delete)
        return out
    out = list(value)
    if delete and not rest:
        out.pop(head)
    else:
        out[head] = _set(value[head], rest, new, delete)
    return out


@st.composite
def mutated(draw, base):
    """`base` (a JSON payload) with 0–4 mutations: a key dropped, a value replaced by another type, a key added."""
    value = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(0, 4))):
        paths = list(_paths(value))
        path = draw(st.sampled_from(paths))
        how = draw(st.sampled_from(["drop", "replace", "replace", "add", "text"]))
        if how == "drop" and path:
            value = _set(value, path, None, delete=True)
        elif how == "add":
            target = _get(value, path)
            if isinstance(target, dict):
                value = _set(value, path, {**target, draw(st.text(max_size=8)): draw(json_values)})
        elif how == "text":
            value = _set(value, path, draw(questions()))
        elif path or draw(st.integers(0, 9)) == 0:    # replacing the whole payload now and then
            value = _set(value, path, draw(json_values))
    return value


def _get(value, path):
    for p in path:
        value = value[p]
    return value


def no_traceback(text: str) -> bool:
    return "Traceback" not in text and 'File "' not in text
