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
    "busy": {"nb": "husbot er travel akkurat nå – prøv igjen om litt",
             "en": "husbot is busy right now – please try again in a moment"},
    "not_allowed": {"nb": "Dette kan bare administratorer gjøre.", "en": "Only administrators can do this."},
    "suggest_compare": {"nb": "Sammenlign pilotene på: {question}", "en": "Compare the pilots on: {question}"},
    "suggest_source": {"nb": "kilde 1", "en": "source 1"},
    "label_sources": {"nb": "Kilder", "en": "Sources"},
    "label_show_source": {"nb": "Vis kilde", "en": "Show source"},
    "label_page": {"nb": "s.", "en": "p."},
    # -- meeting minutes (bot/minutes.py) --
    "minutes_help": {
        "nb": ("Referat:\n"
               "• «referat start [møtetype] [tittel]» samler meldingene i denne tråden\n"
               "• «referat stopp» avslutter og viser et utkast med vedtak og oppgaver\n"
               "• «referat importer <tekst>» lager et utkast fra ferdig referat\n"
               "• «referat endre ID vedtak|oppgave N <ny tekst>», «referat fjern ID oppgave N», "
               "«referat legg til ID vedtak <tekst>»\n"
               "• «referat godta [ID]» godtar utkastet og legger det i kunnskapsbasen\n"
               "• «oppgaver [pilot|@person]» viser åpne oppgaver, «oppgave ferdig ID» lukker en\n"
               "Møtetyper: {types}."),
        "en": ("Minutes:\n"
               "• “referat start [meeting type] [title]” collects the messages in this thread\n"
               "• “referat stopp” ends the capture and shows a draft with decisions and action items\n"
               "• “referat importer <text>” makes a draft from finished minutes\n"
               "• “referat endre ID vedtak|oppgave N <new text>”, “referat fjern ID oppgave N”, "
               "“referat legg til ID vedtak <text>”\n"
               "• “referat godta [ID]” accepts the draft and adds it to the knowledge base\n"
               "• “oppgaver [pilot|@person]” lists open action items, “oppgave ferdig ID” closes one\n"
               "Meeting types: {types}."),
    },
    "minutes_started": {"nb": "Referat #{id} startet ({type}{title}). Jeg samler meldingene i denne tråden til noen "
                              "skriver «referat stopp».",
                        "en": "Minutes #{id} started ({type}{title}). I am collecting the messages in this thread "
                              "until someone writes “referat stopp”."},
    "minutes_already_open": {"nb": "Det pågår allerede et referat (#{id}) i denne tråden. Skriv «referat stopp» først.",
                             "en": "Minutes (#{id}) are already being taken in this thread. Write “referat stopp” first."},
    "minutes_none_open": {"nb": "Det pågår ikke noe referat i denne tråden. Start med «referat start [møtetype] [tittel]».",
                          "en": "No minutes are being taken in this thread. Start with “referat start [meeting type] [title]”."},
    "minutes_empty": {"nb": "Referat #{id} er stoppet, men ingen meldinger ble samlet, så det er ikke noe å lage utkast av. "
                            "Start på nytt eller lim inn teksten med «referat importer <tekst>».",
                      "en": "Minutes #{id} stopped, but no messages were collected, so there is nothing to draft. "
                            "Start again or paste the text with “referat importer <text>”."},
    "minutes_import_empty": {"nb": "Lim inn referatteksten etter «referat importer».",
                             "en": "Paste the minutes text after “referat importer”."},
    "minutes_upload_type": {"nb": "{name}: jeg kan importere referater som .txt, .md eller .docx. Ingenting er lagret.",
                            "en": "{name}: I can import minutes as .txt, .md or .docx. Nothing was stored."},
    "minutes_upload_too_big": {"nb": "{name} er større enn {mb} MB. Del referatet opp, eller lim inn teksten. Ingenting er lagret.",
                               "en": "{name} is larger than {mb} MB. Split the minutes or paste the text. Nothing was stored."},
    "minutes_upload_unreadable": {"nb": "Jeg klarte ikke å lese {name} (ødelagt eller tom fil?). Ingenting er lagret.",
                                  "en": "I could not read {name} (a broken or empty file?). Nothing was stored."},
    "upload_failed": {"nb": "Jeg fikk ikke hentet {name}. Prøv igjen, eller lim inn teksten. Ingenting er lagret.",
                      "en": "I could not fetch {name}. Try again, or paste the text. Nothing was stored."},
    "upload_what": {"nb": "Vil du importere et referat? Legg ved fila og skriv «referat importer [møtetype] [dato]».",
                    "en": "Importing minutes? Attach the file and write “referat importer [meeting type] [date]”."},
    "minutes_unknown": {"nb": "Jeg finner ikke referat #{id}. «referat vis» viser utkastet i denne tråden.",
                        "en": "I cannot find minutes #{id}. “referat vis” shows the draft in this thread."},
    "minutes_no_draft": {"nb": "Det finnes ikke noe utkast i denne tråden. Oppgi nummeret: «referat godta ID».",
                         "en": "There is no draft in this thread. Give the number: “referat godta ID”."},
    "minutes_not_draft": {"nb": "Referat #{id} er allerede godtatt og kan ikke endres.",
                          "en": "Minutes #{id} have already been accepted and cannot be changed."},
    "minutes_bad_edit": {"nb": "Det forsto jeg ikke. Skriv f.eks. «referat endre {id} oppgave 2 Kari sender avtalen innen fredag» "
                               "eller «referat fjern {id} vedtak 1».",
                         "en": "I did not understand that. Write e.g. “referat endre {id} oppgave 2 Kari sends the lease by Friday” "
                               "or “referat fjern {id} vedtak 1”."},
    "minutes_draft_head": {"nb": "Utkast til referat #{id} (versjon {version}): {title}",
                           "en": "Draft minutes #{id} (version {version}): {title}"},
    "minutes_draft_foot": {"nb": "Ingenting er endelig før utkastet er godtatt. Godta med «referat godta {id}», eller endre "
                                 "med «referat endre {id} …», «referat fjern {id} …», «referat legg til {id} …».",
                           "en": "Nothing is final until the draft is accepted. Accept with “referat godta {id}”, or edit "
                                 "with “referat endre {id} …”, “referat fjern {id} …”, “referat legg til {id} …”."},
    "minutes_accepted": {"nb": "Referat #{id} er godtatt: {n_decisions} vedtak og {n_actions} oppgaver. Det kan nå siteres i svar.",
                         "en": "Minutes #{id} accepted: {n_decisions} decisions and {n_actions} action items. It can now be cited in answers."},
    "minutes_not_indexed": {"nb": "Referat #{id} er godtatt og lagret, men kunne ikke legges i søket ennå ({error}). "
                                  "Ingenting er tapt; en administrator kan prøve igjen med `husbot minutes reindex`.",
                            "en": "Minutes #{id} are accepted and stored, but could not be added to search yet ({error}). "
                                  "Nothing is lost; an administrator can retry with `husbot minutes reindex`."},
    "minutes_bad_form": {"nb": "Skjemaet kom ikke fram i riktig form. Ingenting er endret; prøv igjen.",
                         "en": "The form did not arrive in the right shape. Nothing was changed; please try again."},
    "minutes_form_title": {"nb": "Rediger referat #{id}", "en": "Edit minutes #{id}"},
    "minutes_form_hint": {"nb": "Ett punkt per linje. Oppgaver: tekst | ansvarlig | frist (f.eks. 2025-03-15 eller «innen fredag»).",
                          "en": "One item per line. Action items: text | owner | due (e.g. 2025-03-15 or “by Friday”)."},
    "minutes_form_cut": {"nb": "Bare de første {shown} av {total} linjene får plass her. Resten beholdes uendret når du lagrer.",
                         "en": "Only the first {shown} of {total} lines fit here. The rest is kept unchanged when you save."},
    "minutes_form_failed": {"nb": "Jeg fikk ikke åpnet skjemaet. Endre med «referat endre {id} …» i stedet.",
                            "en": "I could not open the form. Edit with “referat endre {id} …” instead."},
    "minutes_box_too_long": {"nb": "For langt ({n} tegn). Her er det plass til {max} tegn; del opp eller kort ned.",
                             "en": "Too long ({n} characters). This box holds {max}; split or shorten it."},
    "label_save": {"nb": "Lagre", "en": "Save"},
    "label_decisions": {"nb": "Vedtak", "en": "Decisions"},
    "label_actions": {"nb": "Oppgaver", "en": "Action items"},
    "label_questions": {"nb": "Åpne spørsmål", "en": "Open questions"},
    "label_topics": {"nb": "Temaer", "en": "Topics"},
    "label_owner": {"nb": "ansvar", "en": "owner"},
    "label_due": {"nb": "frist", "en": "due"},
    "label_check_due": {"nb": "⚠ sjekk fristen", "en": "⚠ check the due date"},
    "label_none": {"nb": "ingen", "en": "none"},
    "label_accept": {"nb": "Godta", "en": "Accept"},
    "label_edit": {"nb": "Rediger", "en": "Edit"},
    "label_done": {"nb": "Ferdig", "en": "Done"},
    "tasks_head": {"nb": "Åpne oppgaver{scope}:", "en": "Open action items{scope}:"},
    "tasks_none": {"nb": "Ingen åpne oppgaver{scope}.", "en": "No open action items{scope}."},
    "task_due_reminder": {"nb": "Påminnelse: oppgave #{id} har frist i dag. {line} (fra {meeting}). Svar «oppgave ferdig {id}» når den er gjort.",
                          "en": "Reminder: action item #{id} is due today. {line} (from {meeting}). Reply “oppgave ferdig {id}” when it is done."},
    "task_done": {"nb": "Oppgave #{id} er markert som ferdig: {text}", "en": "Action item #{id} is marked done: {text}"},
    "task_unknown": {"nb": "Jeg finner ikke oppgave #{id}. «oppgaver» viser de åpne.",
                     "en": "I cannot find action item #{id}. “oppgaver” lists the open ones."},
    "task_usage": {"nb": "Skriv «oppgave ferdig ID», f.eks. «oppgave ferdig 12».",
                   "en": "Write “oppgave ferdig ID”, e.g. “oppgave ferdig 12”."},
    # -- monthly status round (bot/status/) --
    "status_help": {
        "nb": ("Månedsstatus:\n"
               "• «status svar [pilot] [ÅÅÅÅ-MM]» åpner statusskjemaet for piloten din (forhåndsutfylt fra forrige måned)\n"
               "• «status send [ÅÅÅÅ-MM] [frist ÅÅÅÅ-MM-DD]» starter en runde og ber prosjektlederne svare "
               "(evaluatorer og administratorer)\n"
               "• «status oversikt [ÅÅÅÅ-MM]» viser hvem som har svart, svart for sent eller mangler, og hvilke felt "
               "som er tomme eller uendret (evaluatorer og administratorer)\n"
               "Piloter: {pilots}."),
        "en": ("Monthly status:\n"
               "• “status svar [pilot] [YYYY-MM]” opens your pilot's status form (prefilled from last month)\n"
               "• “status send [YYYY-MM] [frist YYYY-MM-DD]” starts a round and asks the project leaders to answer "
               "(evaluators and administrators)\n"
               "• “status oversikt [YYYY-MM]” shows who answered, answered late or is missing, and which fields are "
               "empty or unchanged (evaluators and administrators)\n"
               "Pilots: {pilots}."),
    },
    "status_not_allowed": {"nb": "Bare evaluatorer og administratorer kan gjøre dette.",
                           "en": "Only evaluators and administrators can do this."},
    "status_not_allowed_pilot": {"nb": "Bare prosjektledere og medlemmer i {pilot} (og evaluatorer) kan se og svare på "
                                       "statusen for {pilot}.",
                                 "en": "Only project leaders and members of {pilot} (and evaluators) can see and answer "
                                       "the status for {pilot}."},
    "status_which_pilot": {"nb": "Hvilken pilot? Skriv f.eks. «status svar Narvik» ({pilots}).",
                           "en": "Which pilot? Write e.g. “status svar Narvik” ({pilots})."},
    "status_unknown_pilot": {"nb": "Ukjent pilot «{pilot}». Bruk en av: {pilots}.",
                             "en": "Unknown pilot “{pilot}”. Use one of: {pilots}."},
    "status_bad_month": {"nb": "«{value}» er ikke en måned. Skriv ÅÅÅÅ-MM, f.eks. 2025-03.",
                         "en": "“{value}” is not a month. Write YYYY-MM, e.g. 2025-03."},
    "status_bad_date": {"nb": "«{value}» er ikke en dato. Skriv ÅÅÅÅ-MM-DD, f.eks. 2025-03-07.",
                        "en": "“{value}” is not a date. Write YYYY-MM-DD, e.g. 2025-03-07."},
    "status_deadline_past": {"nb": "Fristen {deadline} har allerede vært. Velg en dato fra i dag av.",
                             "en": "The deadline {deadline} has already passed. Choose a date from today on."},
    "status_future_month": {"nb": "{month} har ikke begynt ennå. Status kan gis for denne måneden eller tidligere.",
                            "en": "{month} has not started yet. Status can be given for this month or earlier."},
    "status_bad_form": {"nb": "Skjemaet kom ikke fram i riktig form. Ingenting er lagret; prøv igjen.",
                        "en": "The form did not arrive in the right shape. Nothing was saved; please try again."},
    "status_invalid": {"nb": "Ingenting er lagret ennå: {n} felt må rettes.",
                       "en": "Nothing has been saved yet: {n} field(s) need fixing."},
    "status_field_unknown": {"nb": "Ukjent felt «{field}». Feltene er: {keys}.",
                             "en": "Unknown field “{field}”. The fields are: {keys}."},
    "status_field_too_long": {"nb": "For langt ({n} tegn). Korte ned til {max} tegn, eller legg ved et dokument og "
                                    "skriv et sammendrag her.",
                              "en": "Too long ({n} characters). Shorten it to {max}, or attach a document and write a "
                                    "summary here."},
    "status_field_not_number": {"nb": "«{value}» er ikke et tall. Skriv f.eks. 1 200 000.",
                                "en": "“{value}” is not a number. Write e.g. 1 200 000."},
    "status_field_not_yesno": {"nb": "Svar ja eller nei (ikke «{value}»).", "en": "Answer yes or no (not “{value}”)."},
    "status_field_required": {"nb": "Dette feltet må fylles ut.", "en": "This field is required."},
    "status_fields_bad": {"nb": "Feltlisten for månedsstatus kan ikke leses: {problem}",
                          "en": "The monthly status field list cannot be read: {problem}"},
    "status_bad_setting": {"nb": "Innstillingen {name} har en ugyldig verdi «{value}».",
                           "en": "The setting {name} has an invalid value “{value}”."},
    "status_prompt_text": {"nb": "Hei{name}! Det er tid for månedsstatus for {pilot} ({month}). Fristen er {deadline}. "
                                 "Trykk «Fyll ut status», eller skriv «status svar {pilot} {code}».",
                           "en": "Hi{name}! It is time for the monthly status of {pilot} ({month}). The deadline is "
                                 "{deadline}. Press “Fill in status”, or write “status svar {pilot} {code}”."},
    "status_reminder_text": {"nb": "Påminnelse{name}: vi mangler fortsatt månedsstatus for {pilot} ({month}). Fristen er "
                                   "{deadline}. Trykk «Fyll ut status», eller skriv «status svar {pilot} {code}».",
                             "en": "Reminder{name}: the monthly status of {pilot} ({month}) is still missing. The "
                                   "deadline is {deadline}. Press “Fill in status”, or write “status svar {pilot} {code}”."},
    "status_open_label": {"nb": "Fyll ut status", "en": "Fill in status"},
    "status_form_title": {"nb": "Månedsstatus {pilot} – {month}", "en": "Monthly status {pilot} – {month}"},
    "status_form_intro": {"nb": "Frist {deadline}. Du kan endre svaret til fristen; alle versjoner tas vare på.",
                          "en": "Deadline {deadline}. You can edit the answer until then; every version is kept."},
    "status_form_late": {"nb": "Fristen har gått ut: svaret tas imot, men merkes som sent.",
                         "en": "The deadline has passed: the answer is accepted but marked late."},
    "status_form_submit": {"nb": "Send inn", "en": "Submit"},
    "status_form_tasks": {"nb": "Åpne oppgaver fra referatene (oppdater gjerne under Aktiviteter):",
                          "en": "Open action items from the minutes (update them under Activities):"},
    "status_form_from_last": {"nb": "fra forrige måned", "en": "from last month"},
    "status_form_changed": {"nb": "endret siden forrige måned", "en": "changed since last month"},
    "status_saved": {"nb": "Takk! Månedsstatus for {pilot}, {month} er lagret (versjon {version}).",
                     "en": "Thanks! The monthly status of {pilot}, {month} is saved (version {version})."},
    "status_saved_late": {"nb": "Den kom etter fristen {deadline} og er merket som sen, men er tatt vare på.",
                          "en": "It arrived after the deadline {deadline} and is marked late, but it is kept."},
    "status_not_indexed": {"nb": "Den kan ikke søkes i ennå; en administrator kan kjøre `husbot status reindex`.",
                           "en": "It is not searchable yet; an administrator can run `husbot status reindex`."},
    "status_started": {"nb": "Statusrunden for {month} er åpnet med frist {deadline}. Sendt: {sent}, sendt før: {already}, "
                             "venter på Slack/Teams: {waiting}, piloter uten prosjektleder i rosteret: {no_leader}.",
                       "en": "The status round for {month} is open, deadline {deadline}. Sent: {sent}, sent before: "
                             "{already}, waiting for Slack/Teams: {waiting}, pilots without a leader in the roster: "
                             "{no_leader}."},
    "status_overview_head": {"nb": "Månedsstatus {month} (frist {deadline}): {answered} svart, {late} for sent, "
                                   "{missing} mangler.",
                             "en": "Monthly status {month} (deadline {deadline}): {answered} answered, {late} late, "
                                   "{missing} missing."},
    "status_state_answered": {"nb": "svart", "en": "answered"},
    "status_state_late": {"nb": "svart for sent", "en": "answered late"},
    "status_state_missing": {"nb": "mangler", "en": "missing"},
    "status_overview_empty": {"nb": "tomme felt", "en": "empty fields"},
    "status_overview_unchanged": {"nb": "uendret fra forrige måned", "en": "unchanged from last month"},
}


def t(key: str, lang: str = "nb", **kwargs) -> str:
    entry = TEXTS[key]
    text = entry.get(lang) or entry["nb"]
    return text.format(**kwargs) if kwargs else text
