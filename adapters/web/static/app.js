// husbot web chat: plain DOM, no build step. All text goes in through textContent and text nodes, never as markup.
"use strict";

(() => {
  const LABELS = {
    nb: {
      tagline: "Spør kildene om Pilot Statens hus",
      pilot: "Pilot",
      all: "Alle",
      newConversation: "Ny samtale",
      attach: "Importer referat",
      intro: "Still et spørsmål om pilotene Stad, Orkland, Narvik og Lyngdal. Svarene viser hvilke kilder de bygger på.",
      question: "Spørsmål",
      placeholder: "Skriv et spørsmål …",
      send: "Send",
      thinking: "tenker…",
      sources: "Kilder",
      page: "s.",
      onlyPilot: "Bare {pilot}",
      citation: "Kilde {n}",
      helpful: "Nyttig svar",
      notHelpful: "Ikke nyttig svar",
      whatWasWrong: "Hva var galt?",
      sendReason: "Send begrunnelse",
      noSource: "Ingen kilde funnet.",
      network: "Fikk ikke kontakt med husbot. Sjekk at serveren kjører, og prøv igjen.",
      accept: "Godta",
    },
    en: {
      tagline: "Ask the sources about Pilot Statens hus",
      pilot: "Pilot",
      all: "All",
      newConversation: "New conversation",
      attach: "Import minutes",
      intro: "Ask a question about the pilots Stad, Orkland, Narvik and Lyngdal. Answers show the sources they rest on.",
      question: "Question",
      placeholder: "Ask a question …",
      send: "Send",
      thinking: "thinking…",
      sources: "Sources",
      page: "p.",
      onlyPilot: "Only {pilot}",
      citation: "Source {n}",
      helpful: "Helpful answer",
      notHelpful: "Unhelpful answer",
      whatWasWrong: "What was wrong?",
      sendReason: "Send reason",
      noSource: "No source found.",
      network: "Could not reach husbot. Check that the server is running and try again.",
      accept: "Accept",
    },
  };
  const browserLang = ((navigator.languages && navigator.languages[0]) || navigator.language || "nb").toLowerCase();
  const LANG = browserLang.startsWith("en") ? "en" : "nb";
  const L = LABELS[LANG];
  const fill = (s, vars) => s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k]));

  const CONVERSATION_KEY = "husbot.conversation";
  const LOG_KEY = "husbot.log";
  const MAX_LOG = 60;

  const $ = (sel) => document.querySelector(sel);
  const log = $("#log");
  const form = $("#ask");
  const box = $("#question");
  const sendButton = $("#send");
  const pilotMenu = $("#pilot");
  let busy = false;

  // -- small helpers ---------------------------------------------------------------------------------------
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function conversationId() {
    let id = sessionStorage.getItem(CONVERSATION_KEY);
    if (!id) {
      id = newId();
      sessionStorage.setItem(CONVERSATION_KEY, id);
    }
    return id;
  }

  function loadLog() {
    try {
      return JSON.parse(sessionStorage.getItem(LOG_KEY) || "[]");
    } catch (e) {
      return [];
    }
  }

  function remember(entry) {
    const entries = loadLog();
    entries.push(entry);
    try {
      sessionStorage.setItem(LOG_KEY, JSON.stringify(entries.slice(-MAX_LOG)));
    } catch (e) {
      /* storage full: the conversation still works, it just is not restored on reload */
    }
  }

  async function post(path, body) {
    let response;
    try {
      response = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch (e) {
      return { ok: false, error: L.network };
    }
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    if (!response.ok || !data) return { ok: false, error: (data && data.error) || L.network };
    return { ok: true, data };
  }

  function scrollToEnd() {
    window.scrollTo({ top: document.body.scrollHeight, behavior: "smooth" });
  }

  // -- rendering a reply -----------------------------------------------------------------------------------
  function citeButton(bubble, n) {
    return el("button", {
      type: "button", class: "cite", "data-n": n, "aria-label": fill(L.citation, { n }),
      onclick: () => openSource(bubble, n),
    }, `[${n}]`);
  }

  // Sentences citing the same source in a row show the number once, after the last of them.
  function sentencesWithCitations(bubble, sentences) {
    const out = [];
    sentences.forEach(([sentence, n], i) => {
      out.push(el("span", { class: "sentence" }, sentence));
      const next = sentences[i + 1];
      if (!next || next[1] !== n) out.push(citeButton(bubble, n));
      out.push(" ");
    });
    return out;
  }

  function openSource(bubble, n) {
    const item = bubble.querySelector(`.source[data-n="${Number(n)}"]`);
    if (!item) return;
    setOpen(item, true);
    item.classList.add("flash");
    setTimeout(() => item.classList.remove("flash"), 1200);
    item.scrollIntoView({ behavior: "smooth", block: "nearest" });
  }

  function setOpen(item, open) {
    item.classList.toggle("open", open);
    item.querySelector(".source-head").setAttribute("aria-expanded", String(open));
    item.querySelector(".source-body").hidden = !open;
  }

  function sourceItem(c) {
    const meta = [];
    if (c.section && c.section !== c.title) meta.push(c.section);
    if (c.page) meta.push(`${L.page} ${c.page}`);
    const bodyId = `src-${newId()}`;
    const item = el("li", { class: "source", "data-n": c.number },
      el("button", { type: "button", class: "source-head", "aria-expanded": "false", "aria-controls": bodyId },
        el("span", { class: "num" }, `[${c.number}]`),
        el("span", { class: "label" },
          el("span", { class: "title" }, c.title || c.document),
          meta.length ? el("span", { class: "meta" }, meta.join(" · ")) : null)),
      el("div", { class: "source-body", id: bodyId, hidden: true },
        el("p", { class: "where" },
          el("strong", {}, c.title || c.document),
          meta.length ? ` — ${meta.join(", ")}` : "",
          c.document && c.document !== c.title ? el("span", { class: "file" }, c.document) : null),
        (c.pilots || []).length ? el("p", { class: "tags" }, c.pilots.map((p) => el("span", { class: "tag" }, p))) : null,
        el("blockquote", { class: "passage" }, c.text || c.snippet || "")));
    item.querySelector(".source-head").addEventListener("click", () => setOpen(item, !item.classList.contains("open")));
    return item;
  }

  function comparison(bubble, reply) {
    // the core's own line for a pilot without sources ("Stad: Ingen kilde funnet for Stad.")
    const lines = (reply.text || "").split("\n");
    const noneText = (pilot) => {
      const line = lines.find((l) => l.startsWith(`${pilot}: `));
      return line ? line.slice(pilot.length + 2) : L.noSource;
    };
    return el("div", { class: "compare" }, reply.pilots.map((section) =>
      el("section", { class: `pilot-card${section.found ? "" : " empty"}` },
        el("h3", {}, section.pilot),
        el("p", {}, section.found ? sentencesWithCitations(bubble, section.sentences) : noneText(section.pilot)))));
  }

  function feedbackRow(reply) {
    const actions = (reply.actions || []).filter((a) => a.kind === "feedback_up" || a.kind === "feedback_down");
    if (!actions.length) return null;
    const row = el("div", { class: "feedback" });
    const buttons = actions.map((a) => el("button", {
      type: "button", class: `vote ${a.kind}`, "data-kind": a.kind,
      "aria-label": a.kind === "feedback_up" ? L.helpful : L.notHelpful, title: a.kind === "feedback_up" ? L.helpful : L.notHelpful,
      onclick: async () => {
        buttons.forEach((b) => { b.disabled = true; });
        const result = await post("/api/action", { kind: a.kind, value: a.value, conversation_id: conversationId() });
        if (!result.ok) {
          buttons.forEach((b) => { b.disabled = false; });
          row.append(el("span", { class: "note error" }, result.error));
          return;
        }
        const thanks = el("span", { class: "note thanks" }, result.data.text);
        row.replaceChildren(thanks);
        if (a.kind === "feedback_down" && result.data.answer_id) row.append(reasonForm(result.data.answer_id, row));
      },
    }, a.label));
    row.append(...buttons);
    return row;
  }

  function reasonForm(feedbackId, row) {
    const input = el("input", { type: "text", class: "reason", maxlength: 2000, placeholder: L.whatWasWrong, "aria-label": L.whatWasWrong });
    const submit = el("button", { type: "submit" }, L.sendReason);
    const reasonForm = el("form", { class: "reason-form" }, input, submit);
    reasonForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const reason = input.value.trim();
      if (!reason) { input.focus(); return; }
      submit.disabled = true;
      const result = await post("/api/feedback-reason", { feedback_id: feedbackId, reason, lang: LANG });
      submit.disabled = false;
      if (!result.ok) {
        reasonForm.append(el("span", { class: "note error" }, result.error));
        return;
      }
      row.replaceChildren(el("span", { class: "note thanks" }, result.data.text));
    });
    setTimeout(() => input.focus(), 0);
    return reasonForm;
  }

  function suggestionChips(reply) {
    if (!(reply.suggestions || []).length) return null;
    return el("div", { class: "suggestions" }, reply.suggestions.map((s) =>
      el("button", { type: "button", class: "chip", onclick: () => ask(s) }, s)));
  }

  // -- a minutes draft: its text, then a form to edit it (one box per section) and accept it ---------------
  // The core sends the form ready to fill (reply.data.form: id, values, labels, hint, title, submit); «Lagre»
  // posts minutes_save and the new version replaces this bubble, «Godta» posts minutes_accept.
  function minutesForm(bubble, reply, entry) {
    const spec = (reply.data || {}).form;
    if (!spec || !spec.id || (entry && entry.closed)) return null;
    const accept = (reply.actions || []).find((a) => a.kind === "minutes_accept");
    const boxes = Object.entries(spec.labels || {}).map(([key, label]) => {
      const id = `minutes-${spec.id}-${key}-${newId()}`;
      const box = el("textarea", { id, name: key, rows: 4, class: "minutes-box" });
      box.value = (spec.values || {})[key] || "";
      return el("div", { class: "minutes-field" }, el("label", { for: id }, label), box);
    });
    const status = el("p", { class: "note", role: "status" });
    const save = el("button", { type: "submit", class: "save" }, spec.submit || "Lagre");
    const acceptButton = accept ? el("button", { type: "button", class: "accept" }, accept.label || L.accept) : null;
    const form = el("form", { class: "minutes-form", "data-minutes": spec.id },
      el("h4", {}, spec.title || ""),
      el("p", { class: "hint" }, spec.hint || ""),
      boxes,
      el("div", { class: "minutes-buttons" }, save, acceptButton),
      status);
    const busyForm = (on) => { form.querySelectorAll("button, textarea").forEach((n) => { n.disabled = on; }); };
    const complain = (text) => { status.className = "note error"; status.textContent = text; };

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const value = { id: spec.id };
      form.querySelectorAll("textarea").forEach((box) => { value[box.name] = box.value; });
      busyForm(true);
      const result = await post("/api/action", { kind: "minutes_save", value, conversation_id: conversationId() });
      busyForm(false);
      if (!result.ok) return complain(result.error);
      if (result.data.kind !== "minutes_draft") return complain(result.data.text);
      const fresh = { who: "bot", reply: result.data };
      replaceRemembered(spec.id, fresh);
      bubble.replaceWith(botBubble(result.data, fresh));
    });
    if (acceptButton) {
      acceptButton.addEventListener("click", async () => {
        busyForm(true);
        const result = await post("/api/action", { kind: "minutes_accept", value: accept.value, conversation_id: conversationId() });
        if (!result.ok) { busyForm(false); return complain(result.error); }
        if (result.data.kind !== "minutes_accepted") { busyForm(false); return complain(result.data.text); }
        closeRemembered(spec.id);
        form.remove();
        const done = { who: "bot", reply: result.data };
        remember(done);
        show(done);
        scrollToEnd();
      });
    }
    return form;
  }

  function isDraft(entry, id) {
    return entry.who === "bot" && entry.reply.kind === "minutes_draft" && ((entry.reply.data || {}).form || {}).id === id;
  }

  // a saved draft takes the place of the one it edits, so a reload shows the newest version once
  function replaceRemembered(id, fresh) {
    const entries = loadLog();
    const i = entries.findIndex((e) => isDraft(e, id));
    if (i < 0) entries.push(fresh); else entries[i] = fresh;
    try { sessionStorage.setItem(LOG_KEY, JSON.stringify(entries.slice(-MAX_LOG))); } catch (e) { /* see remember */ }
  }

  // an accepted draft is shown again without its form
  function closeRemembered(id) {
    const entries = loadLog().map((e) => (isDraft(e, id) ? { ...e, closed: true } : e));
    try { sessionStorage.setItem(LOG_KEY, JSON.stringify(entries)); } catch (e) { /* see remember */ }
  }

  function botBubble(reply, entry) {
    const bubble = el("article", { class: `msg bot kind-${reply.kind}${reply.found === false ? " not-found" : ""}` });
    const hasStructure = reply.kind === "answer" || reply.kind === "comparison";
    if (hasStructure && reply.lead) bubble.append(el("p", { class: "lead" }, reply.lead));
    if (reply.kind === "comparison" && (reply.pilots || []).length) {
      bubble.append(comparison(bubble, reply));
    } else if (reply.kind === "answer" && (reply.sentences || []).length) {
      bubble.append(el("p", { class: "answer" }, sentencesWithCitations(bubble, reply.sentences)));
    } else if (!hasStructure || !reply.lead) {
      bubble.append(el("p", { class: "text" }, reply.text));
    }
    if (hasStructure && (reply.citations || []).length) {
      bubble.append(el("div", { class: "sources" },
        el("h4", {}, L.sources),
        el("ol", {}, reply.citations.map(sourceItem))));
    }
    if (reply.kind === "minutes_draft") bubble.append(minutesForm(bubble, reply, entry) || "");
    bubble.append(feedbackRow(reply) || "", suggestionChips(reply) || "");
    return bubble;
  }

  function userBubble(text, pilot) {
    return el("article", { class: "msg user" },
      el("p", {}, text),
      pilot ? el("span", { class: "tag" }, fill(L.onlyPilot, { pilot })) : null);
  }

  function errorBubble(message) {
    return el("article", { class: "msg bot kind-error" }, el("p", { class: "text" }, message));
  }

  function show(entry) {
    if (entry.who === "user") log.append(userBubble(entry.text, entry.pilot));
    else if (entry.who === "bot" && entry.reply.kind !== "none") log.append(botBubble(entry.reply, entry));
    else if (entry.who === "error") log.append(errorBubble(entry.text));
  }

  // -- asking ----------------------------------------------------------------------------------------------
  async function ask(text) {
    text = (text || "").trim();
    if (!text || busy) return;
    busy = true;
    sendButton.disabled = true;
    const pilot = pilotMenu.value || null;
    const userEntry = { who: "user", text, pilot };
    remember(userEntry);
    show(userEntry);
    const thinking = el("div", { class: "msg bot thinking", role: "status" },
      el("span", { class: "dots", "aria-hidden": "true" }, el("i"), el("i"), el("i")), L.thinking);
    log.append(thinking);
    scrollToEnd();
    const result = await post("/api/ask", { text, conversation_id: conversationId(), pilot });
    thinking.remove();
    const entry = result.ok ? { who: "bot", reply: result.data } : { who: "error", text: result.error };
    remember(entry);
    show(entry);
    busy = false;
    sendButton.disabled = false;
    box.focus();
    scrollToEnd();
  }

  // -- uploading finished minutes: the file with the words in the box («referat importer [type] [dato]») ----------
  const fileInput = $("#minutes-file");
  fileInput.addEventListener("change", async () => {
    const file = fileInput.files[0];
    fileInput.value = "";
    if (!file || busy) return;
    const words = box.value.trim();
    const text = /^referat\s+import/i.test(words) ? words : `referat importer ${words}`.trim();
    box.value = "";
    autosize();
    busy = true;
    sendButton.disabled = true;
    const userEntry = { who: "user", text: `${text} · ${file.name}` };
    remember(userEntry);
    show(userEntry);
    const data = new FormData();
    data.append("text", text);
    data.append("conversation_id", conversationId());
    data.append("file", file, file.name);
    let entry;
    try {
      const response = await fetch("/api/upload", { method: "POST", body: data });
      const body = await response.json().catch(() => null);
      entry = response.ok && body ? { who: "bot", reply: body } : { who: "error", text: (body && body.error) || L.network };
    } catch (e) {
      entry = { who: "error", text: L.network };
    }
    remember(entry);
    show(entry);
    busy = false;
    sendButton.disabled = false;
    scrollToEnd();
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = box.value;
    if (!text.trim()) { box.focus(); return; }
    box.value = "";
    autosize();
    ask(text);
  });

  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  function autosize() {
    box.style.height = "auto";
    box.style.height = `${Math.min(box.scrollHeight, 200)}px`;
  }
  box.addEventListener("input", autosize);

  $("#new-conversation").addEventListener("click", () => {
    sessionStorage.removeItem(CONVERSATION_KEY);
    sessionStorage.removeItem(LOG_KEY);
    log.querySelectorAll(".msg").forEach((m) => m.remove());
    box.focus();
  });

  // -- start -----------------------------------------------------------------------------------------------
  document.documentElement.lang = LANG;
  document.querySelectorAll("[data-label]").forEach((node) => { node.textContent = L[node.dataset.label]; });
  document.querySelectorAll("[data-placeholder]").forEach((node) => { node.placeholder = L[node.dataset.placeholder]; });
  loadLog().forEach(show);
  box.focus();
})();
