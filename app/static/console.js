/* Waypoint agent console: plain JavaScript, no dependencies.
 *
 * Every data call sends the agent's console key as a Bearer token. The key lives in
 * sessionStorage (this tab only). Live updates use a long poll on
 * GET /v1/users/{id}/changes, which answers as soon as the customer's state changes.
 */
(function () {
  "use strict";

  var KEY_STORAGE = "waypoint.console.key";
  var USER_ID = /^[A-Za-z0-9_.@:\-]{1,128}$/;
  var OUTCOME_TYPES = { accept: 1, decline: 1, maybe_later: 1, purchase: 1, dismiss: 1 };
  var REASON_LABELS = {
    too_expensive: "Too expensive",
    not_interested: "Not interested",
    already_have_it: "Already has it",
    bad_timing: "Bad timing",
    other: "Other"
  };
  var CHANNEL_LABELS = {
    web: "web", app: "app", contact_center: "contact center", store: "store",
    email: "email", chat: "chat"
  };

  var LANGUAGE_NAMES = { en: "English", de: "Deutsch", fr: "Français" };

  var state = {
    key: null,
    agent: null,
    reasons: Object.keys(REASON_LABELS),
    intents: {},          // name -> {label: {en,de,fr}}
    titles: {},           // action id -> title seen in a decision
    userId: null,
    ctx: null,            // last GET /context answer
    answer: null,         // last POST /recommend answer
    lastQuery: null,
    rankedAt: null,       // newest event id when the actions were ranked
    ownEvents: {},        // event ids this tab recorded
    languageTouched: false,
    pollAbort: null,
    pollGen: 0,
    loadGen: 0
  };

  /* ---------- DOM helpers (page.js; text only: data never becomes markup) ---------- */

  var $ = WaypointPage.$, el = WaypointPage.el, clear = WaypointPage.clear;
  var ApiError = WaypointPage.ApiError;

  function fact(dl, term, value) {
    if (value === null || value === undefined || value === "") value = "–";
    dl.appendChild(el("dt", { text: term }));
    dl.appendChild(typeof value === "string" ? el("dd", { text: value }) : el("dd", null, value));
  }

  function ago(ts) {
    if (!ts) return "";
    var s = Math.max(0, Date.now() / 1000 - ts);
    if (s < 45) return "just now";
    if (s < 3600) return Math.round(s / 60) + " min ago";
    if (s < 86400) return Math.round(s / 3600) + " h ago";
    return Math.round(s / 86400) + " d ago";
  }

  function isoTs(record) {
    if (record.ts) { var t = Date.parse(record.ts); if (!isNaN(t)) return t / 1000; }
    return record.accepted_at || null;
  }

  function humanize(name) { return String(name || "").replace(/_/g, " "); }

  function language() { return $("language").value; }

  function intentLabel(name) {
    var intent = state.intents[name];
    if (!intent) return humanize(name);
    return intent.label[language()] || intent.label.en || humanize(name);
  }

  function itemName(id) { return state.titles[id] ? state.titles[id] + " (" + id + ")" : id; }

  function pct(x) { return Math.round((x || 0) * 100) + "%"; }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
  }

  /* ---------- messages ---------- */

  var alertTimer = null;
  function showAlert(message, kind) {
    var box = $("alert");
    box.textContent = message;
    box.className = "alert " + (kind || "error");
    box.hidden = false;
    clearTimeout(alertTimer);
    if (kind === "ok") alertTimer = setTimeout(function () { box.hidden = true; }, 4000);
  }
  function hideAlert() { $("alert").hidden = true; }

  function setLive(text, mode) {
    $("live-text").textContent = text;
    $("live").className = "live " + (mode || "");
  }

  /* ---------- API ---------- */

  function api(method, path, body, signal) {
    var headers = { "Authorization": "Bearer " + state.key, "Accept": "application/json" };
    var init = { method: method, headers: headers, cache: "no-store", signal: signal };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return WaypointPage.fetchJson(path, init);
  }

  /** The common failure handling: 401 signs out, the rest is shown. */
  function failed(err) {
    if (err && err.name === "AbortError") return;
    if (err instanceof ApiError && err.status === 401) {
      signOut("Your console key was not accepted (" + err.message + "). Sign in again.");
      return;
    }
    if (err instanceof ApiError && err.status === 403) {
      showAlert("Not allowed: " + err.message);
      return;
    }
    if (err instanceof ApiError && err.status === 503) {
      showAlert("The service is temporarily unavailable: " + err.message + " Try again shortly.");
      return;
    }
    showAlert(err instanceof ApiError ? err.message : "Network error: " + (err && err.message));
  }

  /* ---------- sign-in ---------- */

  function showSignin(message) {
    $("workspace").hidden = true;
    $("empty").hidden = true;
    $("lookup-form").hidden = true;
    $("session").hidden = true;
    WaypointPage.showSignin(message);
  }

  function signIn(key) {
    state.key = key;
    return api("GET", "/v1/console/me").then(function (me) {
      state.agent = me.agent_id;
      if (me.decline_reasons && me.decline_reasons.length) state.reasons = me.decline_reasons;
      sessionStorage.setItem(KEY_STORAGE, key);
      $("agent-id").textContent = me.agent_id;
      $("signin").hidden = true;
      $("lookup-form").hidden = false;
      $("session").hidden = false;
      hideAlert();
      return api("GET", "/v1/intents").then(function (tax) {
        state.intents = {};
        (tax.intents || []).forEach(function (i) { state.intents[i.name] = i; });
      }, function () { /* labels fall back to names */ });
    }).then(function () {
      var wanted = new URLSearchParams(location.search).get("user");
      if (wanted && USER_ID.test(wanted)) openCustomer(wanted);
      else showEmpty();
    });
  }

  function signOut(message) {
    stopPolling();
    sessionStorage.removeItem(KEY_STORAGE);
    state.key = null;
    state.agent = null;
    state.userId = null;
    hideAlert();
    showSignin(message);
  }

  function showEmpty() {
    $("workspace").hidden = true;
    $("empty").hidden = false;
    $("lookup-input").focus();
  }

  /* ---------- opening a customer ---------- */

  function openCustomer(userId) {
    stopPolling();
    state.userId = userId;
    state.ctx = null;
    state.answer = null;
    state.lastQuery = null;
    state.rankedAt = null;
    state.languageTouched = false;
    $("lookup-input").value = userId;
    var url = new URL(location.href);
    url.searchParams.set("user", userId);
    history.replaceState(null, "", url.pathname + url.search);
    $("empty").hidden = true;
    $("workspace").hidden = false;
    $("customer-title").textContent = userId;
    $("customer-meta").textContent = "";
    $("say-input").value = "";
    clear($("actions"));
    $("clarify").hidden = true;
    $("stale").hidden = true;
    $("degraded").hidden = true;
    $("intent-line").textContent = "";
    hideAlert();
    var gen = ++state.loadGen;
    // learn where the changes start before loading, so nothing falls in between
    return api("GET", changesPath(userId, null, 0)).then(function (first) {
      return loadContext().then(function () {
        if (gen !== state.loadGen) return;
        pickLanguage();
        return rank({});
      }).then(function () {
        if (gen !== state.loadGen) return;
        $("customer-title").focus();
        startPolling(userId, first.token);
      });
    }).catch(failed);
  }

  function pickLanguage() {
    var ctx = state.ctx;
    if (!ctx || state.languageTouched) return;
    var lang = (ctx.journey && ctx.journey.language) ||
      (ctx.profile && ctx.profile.attributes && ctx.profile.attributes.language) || "en";
    var select = $("language");
    if (Array.prototype.some.call(select.options, function (o) { return o.value === lang; })) {
      select.value = lang;
    }
  }

  function country() {
    var ctx = state.ctx;
    var c = (ctx && ctx.journey && ctx.journey.country) ||
      (ctx && ctx.profile && ctx.profile.attributes && ctx.profile.attributes.country);
    return typeof c === "string" && /^[A-Z]{2}$/.test(c) ? c : null;
  }

  /** Reads the customer's context; ``ranked`` marks it as what the actions were ranked on. */
  function loadContext(ranked) {
    var userId = state.userId;
    return api("GET", "/v1/users/" + encodeURIComponent(userId) + "/context").then(function (ctx) {
      if (userId !== state.userId) return;
      state.ctx = ctx;
      if (ranked) {
        state.rankedAt = newestEventId();
        $("stale").hidden = true;
      }
      renderContext();
    });
  }

  /* ---------- decisions ---------- */

  function rank(opts) {
    var userId = state.userId;
    var body = {
      user_id: userId,
      context: { channel: "contact_center", language: language() },
      limit: 5,
      // reasons speak to the agent ("the customer looked at this"), not to the customer
      voice: "agent"
    };
    var c = country();
    if (c) body.context.location = { country: c };
    if (opts.query) body.query = opts.query;
    if (opts.intent) body.intent = opts.intent;
    var list = $("actions");
    list.setAttribute("aria-busy", "true");
    return api("POST", "/v1/recommend", body).then(function (answer) {
      if (userId !== state.userId) return;
      state.answer = answer;
      (answer.actions || []).forEach(function (a) { state.titles[a.id] = a.title; });
      renderAnswer();
      // the journey moved (this decision): show it, and remember what was ranked against
      return loadContext(true);
    }).then(function () {
      list.setAttribute("aria-busy", "false");
    }, function (err) {
      list.setAttribute("aria-busy", "false");
      throw err;
    });
  }

  function newestEventId() {
    var events = (state.ctx && state.ctx.recent_events) || [];
    return events.length ? events[0].event_id : null;
  }

  function renderAnswer() {
    var answer = state.answer;
    var degraded = $("degraded");
    if (answer.degraded) {
      degraded.textContent = "Degraded answer: some data was unavailable (" +
        ((answer.degraded_reasons || []).join(", ") || "unknown") +
        "). The actions may be less personal than usual.";
      degraded.hidden = false;
    } else {
      degraded.hidden = true;
    }

    var line = $("intent-line");
    clear(line);
    if (answer.intent) {
      line.appendChild(el("span", { className: "label", text: "Intent " }));
      line.appendChild(el("strong", { text: intentLabel(answer.intent.name) }));
      line.appendChild(document.createTextNode(
        " · " + pct(answer.intent.confidence) + " · " + humanize(answer.intent.source)));
    } else if (answer.out_of_scope) {
      line.appendChild(el("span", { className: "oos",
        text: "This request looks outside what we offer; showing general suggestions." }));
    } else if (answer.cold_start) {
      line.appendChild(el("span", { text: "New customer: showing popular actions." }));
    }

    var clarify = $("clarify");
    var options = $("clarify-options");
    clear(options);
    if (answer.clarify && answer.clarify.options && answer.clarify.options.length) {
      $("clarify-question").textContent = answer.clarify.question;
      answer.clarify.options.forEach(function (opt) {
        options.appendChild(el("button", {
          type: "button",
          className: "option",
          "data-intent": opt.intent,
          onclick: function () { chooseIntent(opt.intent); }
        }, opt.label));
      });
      clarify.hidden = false;
    } else {
      clarify.hidden = true;
    }
    renderActions();
  }

  function renderActions() {
    var answer = state.answer;
    var list = $("actions");
    var focused = document.activeElement;
    var focusKey = focused && focused.getAttribute && focused.getAttribute("data-focus-key");
    clear(list);
    var actions = (answer && answer.actions) || [];
    if (!actions.length) {
      list.appendChild(el("li", { className: "none", text: "No eligible actions right now." }));
      return;
    }
    actions.forEach(function (a, i) { list.appendChild(actionCard(a, i + 1)); });
    if (focusKey) {
      var again = list.querySelector('[data-focus-key="' + CSS.escape(focusKey) + '"]');
      if (again) again.focus();
    }
  }

  function actionCard(a, rank) {
    var titleId = "action-title-" + rank;
    var card = el("li", { className: "action", "data-action-id": a.id, "aria-labelledby": titleId });
    card.appendChild(el("div", { className: "action-head" },
      el("span", { className: "rank", "aria-hidden": "true", text: String(rank) }),
      el("h3", { id: titleId, className: "action-title", text: a.title }),
      el("span", { className: "kind kind-" + a.kind, text: humanize(a.kind) })
    ));
    card.appendChild(el("p", { className: "action-meta" },
      el("span", { text: a.category }),
      el("span", { text: "value " + Number(a.value || 0).toFixed(2) }),
      el("span", { text: "score " + Number(a.score || 0).toFixed(3) })
    ));
    if (a.reasons && a.reasons.length) {
      var reasons = el("ul", { className: "reasons", "aria-label": "Why this action" });
      a.reasons.forEach(function (r) { reasons.appendChild(el("li", { text: r })); });
      card.appendChild(reasons);
    }
    var buttons = el("div", { className: "buttons", role: "group", "aria-label": "Outcome for " + a.title });
    var declineBox = el("div", { className: "decline-box", hidden: true });
    buttons.appendChild(el("button", {
      type: "button", className: "accept", "data-focus-key": "accept:" + a.id,
      "aria-label": "Accept: " + a.title,
      onclick: function () { record(a, "accept", null, card); }
    }, "Accept"));
    buttons.appendChild(el("button", {
      type: "button", className: "decline", "data-focus-key": "decline:" + a.id,
      "aria-label": "Decline: " + a.title, "aria-expanded": "false",
      onclick: function (ev) {
        var open = declineBox.hidden;
        declineBox.hidden = !open;
        ev.currentTarget.setAttribute("aria-expanded", open ? "true" : "false");
        if (open) declineBox.querySelector("select").focus();
      }
    }, "Decline…"));
    buttons.appendChild(el("button", {
      type: "button", className: "later", "data-focus-key": "later:" + a.id,
      "aria-label": "Maybe later: " + a.title,
      onclick: function () { record(a, "maybe_later", null, card); }
    }, "Maybe later"));
    card.appendChild(buttons);

    var selectId = "reason-" + rank;
    var select = el("select", { id: selectId, "data-focus-key": "reason:" + a.id });
    state.reasons.forEach(function (r) {
      select.appendChild(el("option", { value: r, text: REASON_LABELS[r] || humanize(r) }));
    });
    var form = el("form", { className: "decline-form", "aria-label": "Decline reason for " + a.title },
      el("label", { "for": selectId, text: "Reason" }),
      select,
      el("button", { type: "submit", className: "danger", "data-focus-key": "confirm:" + a.id },
        "Record decline"),
      el("button", {
        type: "button", className: "quiet",
        onclick: function () {
          declineBox.hidden = true;
          var d = card.querySelector("button.decline");
          d.setAttribute("aria-expanded", "false");
          d.focus();
        }
      }, "Cancel")
    );
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      record(a, "decline", select.value, card);
    });
    form.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape") {
        declineBox.hidden = true;
        card.querySelector("button.decline").focus();
      }
    });
    declineBox.appendChild(form);
    card.appendChild(declineBox);
    return card;
  }

  function record(action, outcome, reason, card) {
    var buttons = card.querySelectorAll("button, select");
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
    var eventId = uuid();  // one key per press: a repeated request is not counted twice
    var body = {
      event_id: eventId,
      user_id: state.userId,
      item_id: action.id,
      outcome: outcome,
      channel: "contact_center",
      language: language()
    };
    if (reason) body.reason = reason;
    if (state.answer && state.answer.request_id) body.request_id = state.answer.request_id;
    var c = country();
    if (c) body.country = c;
    return api("POST", "/v1/console/outcomes", body).then(function (res) {
      state.ownEvents[res.event_id] = true;
      var said = { accept: "accepted", decline: "declined", maybe_later: "maybe later" }[outcome];
      showAlert("Recorded: " + action.title + " — " + said +
        (reason ? " (" + (REASON_LABELS[reason] || reason) + ")" : "") +
        (res.status === "duplicate" ? " (already recorded)" : "") + ".", "ok");
      return rank(state.lastQuery ? { query: state.lastQuery } : {});
    }).then(function () {
      var first = $("actions").querySelector("button.accept");
      if (first) first.focus();
    }).catch(function (err) {
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
      failed(err);
    });
  }

  function chooseIntent(intent) {
    var opts = { intent: intent };
    if (state.lastQuery) opts.query = state.lastQuery;
    return rank(opts).then(function () {
      var first = $("actions").querySelector("button.accept");
      if (first) first.focus();
    }).catch(failed);
  }

  /* ---------- context panels ---------- */

  function stepText(s) {
    var where = s.channel ? CHANNEL_LABELS[s.channel] || s.channel : "unknown channel";
    var what;
    switch (s.type) {
      case "search": what = "searched: “" + (s.query || "") + "”"; break;
      case "recommend":
        what = s.query ? "said: “" + s.query + "”" : "asked for next-best actions"; break;
      case "view": what = "viewed " + itemName(s.item_id); break;
      case "click": what = "clicked " + itemName(s.item_id); break;
      case "add_to_cart": what = "added to cart " + itemName(s.item_id); break;
      case "purchase": what = "bought " + itemName(s.item_id); break;
      case "accept": what = "accepted " + itemName(s.item_id); break;
      case "decline": what = "declined " + itemName(s.item_id); break;
      case "maybe_later": what = "said maybe later to " + itemName(s.item_id); break;
      case "dismiss": what = "dismissed " + itemName(s.item_id); break;
      case "impression": what = "was shown " + itemName(s.item_id); break;
      case "share": what = "shared " + itemName(s.item_id); break;
      case "clarify_answer": what = "clarified: " + intentLabel(s.intent); break;
      default: what = humanize(s.type) + (s.item_id ? " " + s.item_id : "");
    }
    return { where: where, what: what };
  }

  function renderContext() {
    var ctx = state.ctx;
    var j = ctx.journey || {};
    var p = ctx.profile || {};
    var attrs = p.attributes || {};
    $("customer-title").textContent = (attrs.name ? attrs.name + " · " : "") + ctx.user_id;
    $("customer-meta").textContent = ctx.known ? "" : "Unknown customer (no history yet)";

    var facts = $("journey-facts");
    clear(facts);
    var channels = (j.channels || []).map(function (c) { return CHANNEL_LABELS[c] || c; });
    fact(facts, "Channels", channels.join(" → "));  // ordered by their last use
    fact(facts, "Last query", j.last_query ? "“" + j.last_query + "”" : null);
    var intent = null;
    if (j.intent) {
      intent = el("span", null, el("strong", { text: intentLabel(j.intent) }),
        " " + (j.intent_confidence !== null && j.intent_confidence !== undefined ?
          pct(j.intent_confidence) : "") + (j.intent_source ? " · " + humanize(j.intent_source) : ""));
    }
    fact(facts, "Current intent", intent);
    var lang = j.language || attrs.language || null;
    fact(facts, "Language", lang ? (LANGUAGE_NAMES[lang] ? LANGUAGE_NAMES[lang] + " (" + lang + ")" : lang) : null);
    var place = [j.country || attrs.country, attrs.city].filter(Boolean).join(" · ");
    fact(facts, "Location", place || null);
    if (j.device) fact(facts, "Device", j.device);
    fact(facts, "Last activity", j.updated_at ? ago(j.updated_at) : null);

    var steps = $("journey-steps");
    clear(steps);
    var list = (j.steps || []).slice().reverse();
    if (!list.length) steps.appendChild(el("li", { className: "none", text: "No live journey." }));
    list.forEach(function (s) {
      var t = stepText(s);
      steps.appendChild(el("li", null,
        el("span", { className: "chan chan-" + (s.channel || "none"), text: t.where }),
        el("span", { className: "what", text: t.what }),
        el("time", { className: "when", text: ago(s.ts) })));
    });
    steps.scrollTop = steps.scrollHeight;  // the latest steps in view, like a conversation

    var open = $("open-intents");
    clear(open);
    var opens = ctx.open_intents || [];
    if (!opens.length) open.appendChild(el("li", { className: "none", text: "None." }));
    opens.forEach(function (o) {
      open.appendChild(el("li", null, el("strong", { text: intentLabel(o.intent) }),
        (o.query ? " — “" + o.query + "”" : "") + " · " + ago(o.last_seen)));
    });

    var pf = $("profile-facts");
    clear(pf);
    fact(pf, "Segments", (p.segments || []).map(humanize).join(", ") || null);
    fact(pf, "Tenure", p.tenure_months !== null && p.tenure_months !== undefined ?
      p.tenure_months + " months" : null);
    fact(pf, "Engagement", ctx.engagement);

    var aff = $("affinities");
    clear(aff);
    var top = ctx.top_affinities || [];
    var max = top.reduce(function (m, a) { return Math.max(m, a.score); }, 0) || 1;
    if (!top.length) aff.appendChild(el("li", { className: "none", text: "None yet." }));
    top.forEach(function (a) {
      var bar = el("span", { className: "bar", "aria-hidden": "true" });
      bar.style.width = Math.max(4, Math.round(100 * a.score / max)) + "%";
      aff.appendChild(el("li", null, el("span", { className: "bar-label", text: a.category }),
        el("span", { className: "bar-track" }, bar),
        el("span", { className: "bar-value", text: a.score.toFixed(1) })));
    });

    var owned = $("owned");
    clear(owned);
    if (!(ctx.owned || []).length) owned.appendChild(el("li", { className: "none", text: "Nothing yet." }));
    (ctx.owned || []).forEach(function (id) {
      owned.appendChild(el("li", { title: state.titles[id] || id, text: state.titles[id] || id }));
    });

    var outcomes = $("outcomes");
    clear(outcomes);
    var recent = (ctx.recent_events || []).filter(function (e) { return OUTCOME_TYPES[e.type]; }).slice(0, 8);
    if (!recent.length) outcomes.appendChild(el("li", { className: "none", text: "None yet." }));
    recent.forEach(function (e) {
      var verb = { accept: "Accepted", decline: "Declined", maybe_later: "Maybe later",
        purchase: "Bought", dismiss: "Dismissed" }[e.type];
      var by = e.agent_id ? "by agent " + e.agent_id : "via " + (e.context && e.context.channel ?
        CHANNEL_LABELS[e.context.channel] || e.context.channel : "self-service");
      outcomes.appendChild(el("li", { className: "outcome outcome-" + e.type, "data-event-id": e.event_id },
        el("span", { className: "verb", text: verb }),
        " " + itemName(e.item_id) +
        (e.reason ? " (" + (REASON_LABELS[e.reason] || humanize(e.reason)) + ")" : "") + " · ",
        el("span", { className: "by", text: by }),
        " · " + ago(isoTs(e))));
    });

    if (state.rankedAt !== null || state.answer) {
      var newest = newestEventId();
      var stale = state.answer && newest !== state.rankedAt && !state.ownEvents[newest];
      if (stale) $("stale").hidden = false;
    }
  }

  /* ---------- live updates (long poll) ---------- */

  function changesPath(userId, since, wait) {
    var q = "wait=" + wait + (since ? "&since=" + encodeURIComponent(since) : "");
    return "/v1/users/" + encodeURIComponent(userId) + "/changes?" + q;
  }

  function stopPolling() {
    state.pollGen++;
    if (state.pollAbort) state.pollAbort.abort();
    state.pollAbort = null;
    setLive("Not watching", "");
  }

  function startPolling(userId, token) {
    stopPolling();
    var gen = state.pollGen;
    var failures = 0;
    setLive("Live", "on");
    function next(since) {
      if (gen !== state.pollGen) return;
      var abort = new AbortController();
      state.pollAbort = abort;
      api("GET", changesPath(userId, since, 15), undefined, abort.signal).then(function (ch) {
        if (gen !== state.pollGen) return;
        failures = 0;
        setLive("Live", "on");
        if (!ch.changed) { next(ch.token); return; }
        loadContext().catch(function () { /* the next change retries */ }).then(function () {
          next(ch.token);
        });
      }, function (err) {
        if (gen !== state.pollGen || (err && err.name === "AbortError")) return;
        if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
          failed(err);
          return;
        }
        failures++;
        setLive("Reconnecting…", "off");
        setTimeout(function () { next(since); }, Math.min(10000, 1000 * failures));
      });
    }
    next(token);
  }

  /* ---------- wiring ---------- */

  document.addEventListener("DOMContentLoaded", function () {
    $("signin-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var key = $("key-input").value.trim();
      if (!key) return;
      signIn(key).catch(function (err) {
        state.key = null;
        if (err instanceof ApiError && err.status === 403) {
          showSignin("This key cannot use the console: " + err.message);
        } else if (err instanceof ApiError && err.status === 401) {
          showSignin("Unknown key. Check it and try again.");
        } else {
          showSignin("Could not sign in: " + (err && err.message));
        }
      });
    });

    $("sign-out").addEventListener("click", function () { signOut(); });

    $("lookup-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var id = $("lookup-input").value.trim();
      if (!USER_ID.test(id)) {
        showAlert("A customer id is 1–128 letters, digits or _ . @ : -");
        $("lookup-input").focus();
        return;
      }
      openCustomer(id);
    });

    $("say-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (!state.userId) return;
      var text = $("say-input").value.trim();
      state.lastQuery = text || null;
      rank(text ? { query: text } : {}).catch(failed);
    });

    $("language").addEventListener("change", function () {
      state.languageTouched = true;
      if (state.userId) rank(state.lastQuery ? { query: state.lastQuery } : {}).catch(failed);
    });

    $("rerank").addEventListener("click", function () {
      rank(state.lastQuery ? { query: state.lastQuery } : {}).catch(failed);
    });

    window.addEventListener("popstate", function () {
      var wanted = new URLSearchParams(location.search).get("user");
      if (state.key && wanted && USER_ID.test(wanted) && wanted !== state.userId) openCustomer(wanted);
    });

    var saved = sessionStorage.getItem(KEY_STORAGE);
    if (saved) {
      signIn(saved).catch(function (err) {
        state.key = null;
        sessionStorage.removeItem(KEY_STORAGE);
        showSignin(err instanceof ApiError && err.status === 401 ?
          "Your saved key is no longer accepted. Sign in again." : "Could not sign in: " + err.message);
      });
    } else {
      showSignin();
    }
  });
})();
