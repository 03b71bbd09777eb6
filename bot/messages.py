"""Every text a user sees from the bot, in bokmål and English; `t(key, lang)` falls back to bokmål."""
from __future__ import annotations

TEXTS = {
    "help": {
        "nb": ("Jeg er husbot. Jeg svarer på spørsmål om Pilot Statens hus (Stad, Orkland, Narvik og Lyngdal) "
               "med kildehenvisninger.\n"
               "• Still et spørsmål, f.eks. «Hva er Kaffe med påfyll?»\n"
               "• Sammenlign pilotene: «Hvordan har pilotene organisert kontorfellesskap?»\n"
               "• Oppfølging i samme tråd: «og i Narvik?»\n"
               "• «kilde 2» viser hele teksten bak kilde [2]\n"
               "• 👍/👎 under svaret forteller meg om svaret var nyttig\n"
               "• «hjelp» viser denne teksten"),
        "en": ("I am husbot. I answer questions about Pilot Statens hus (Stad, Orkland, Narvik and Lyngdal) "
               "with citations.\n"
               "• Ask a question, e.g. “What is Kaffe med påfyll?”\n"
               "• Compare the pilots: “How did the pilots organise shared offices?”\n"
               "• Follow up in the same thread: “what about Narvik?”\n"
               "• “source 2” shows the full text behind citation [2]\n"
               "• 👍/👎 under an answer tells me whether it helped\n"
               "• “help” shows this text"),
    },
    "empty_question": {"nb": "Skriv et spørsmål, så leter jeg i kildene. Skriv «hjelp» for eksempler.",
                       "en": "Type a question and I will search the sources. Type “help” for examples."},
    "too_long": {"nb": "Spørsmålet er for langt ({n} tegn). Korte det ned til under {max} tegn og prøv igjen.",
                 "en": "The question is too long ({n} characters). Shorten it to under {max} and try again."},
    "empty_index": {"nb": "Kunnskapsbasen er tom ennå. En administrator må kjøre `husbot index` først.",
                    "en": "The knowledge base is empty. An administrator has to run `husbot index` first."},
    "no_source_n": {"nb": "Jeg finner ingen kilde nummer {n} i forrige svar. Still et spørsmål først.",
                    "en": "There is no source number {n} in the last answer. Ask a question first."},
    "source_title": {"nb": "Kilde [{n}]", "en": "Source [{n}]"},
    "thanks_up": {"nb": "Takk for tilbakemeldingen! 👍", "en": "Thanks for the feedback! 👍"},
    "thanks_down": {"nb": "Takk! Hva var galt med svaret? Svar gjerne med en kort begrunnelse.",
                    "en": "Thanks! What was wrong with the answer? Reply with a short reason if you like."},
    "thanks_down_form": {"nb": "Takk! Fortell gjerne hva som var galt i skjemaet.",
                         "en": "Thanks! Tell us what was wrong in the form, if you like."},
    "reason_title": {"nb": "Hva var galt?", "en": "What was wrong?"},
    "reason_label": {"nb": "Hva var galt med svaret?", "en": "What was wrong with the answer?"},
    "send": {"nb": "Send", "en": "Send"},
    "cancel": {"nb": "Avbryt", "en": "Cancel"},
    "reason_saved": {"nb": "Takk, begrunnelsen er lagret.", "en": "Thanks, your reason has been saved."},
    "unknown_answer": {"nb": "Jeg finner ikke det svaret lenger.", "en": "I cannot find that answer any more."},
    "compare_lead": {"nb": "Slik svarer kildene for hver pilot:", "en": "This is what the sources say per pilot:"},
    "compare_none": {"nb": "Ingen kilde funnet for {pilot}.", "en": "No source found for {pilot}."},
    "error": {"nb": "Beklager, noe gikk galt. Prøv igjen om litt.",
              "en": "Sorry, something went wrong. Please try again shortly."},
    "not_allowed": {"nb": "Dette kan bare administratorer gjøre.", "en": "Only administrators can do this."},
    "suggest_compare": {"nb": "Sammenlign pilotene på: {question}", "en": "Compare the pilots on: {question}"},
    "suggest_source": {"nb": "kilde 1", "en": "source 1"},
    "label_sources": {"nb": "Kilder", "en": "Sources"},
    "label_show_source": {"nb": "Vis kilde", "en": "Show source"},
    "label_page": {"nb": "s.", "en": "p."},
}


def t(key: str, lang: str = "nb", **kwargs) -> str:
    entry = TEXTS[key]
    text = entry.get(lang) or entry["nb"]
    return text.format(**kwargs) if kwargs else text
