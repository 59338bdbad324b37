/* Waypoint experiments admin: plain JavaScript, no dependencies, no external assets.
 *
 * The admin key lives in sessionStorage (this tab only) and is sent as a Bearer token on every
 * call to /v1/experiments. Views are addressed by the URL hash:
 *   #/            the list          #/new        create
 *   #/edit/<id>   edit              #/results/<id>  results, chart and history
 * Data is only ever inserted as text (never as markup).
 */
(function () {
  "use strict";

  var KEY_STORAGE = "waypoint.admin.key";
  var SVG_NS = "http://www.w3.org/2000/svg";
  var METRIC_LABELS = { click: "click rate", accept: "accept rate", purchase: "purchase rate", value: "value per user" };
  var state = { key: null, editing: null, results: null, experiment: null, flash: null };

  var $ = WaypointPage.$, el = WaypointPage.el, clear = WaypointPage.clear;

  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function alertBox(message, kind) {
    var box = $("alert");
    if (!message) { box.hidden = true; box.textContent = ""; return; }
    box.className = "alert " + (kind || "error");
    box.textContent = message;
    box.hidden = false;
  }

  function focusHeading(id) {
    var h = $(id);
    if (h) h.focus();
  }

  /* ---------- API ---------- */

  function api(method, path, body, version) {
    var headers = { Authorization: "Bearer " + state.key };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (version !== undefined && version !== null) headers["If-Match"] = '"' + version + '"';
    return WaypointPage.fetchJson(path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store"
    }).catch(function (e) {
      if (e.status === 401) signOut("Your key was not accepted; sign in again.");
      throw e;
    });
  }

  /* ---------- sign in ---------- */

  function signIn(key) {
    state.key = key;
    return api("GET", "/v1/experiments").then(function () {
      sessionStorage.setItem(KEY_STORAGE, key);
      $("session").hidden = false;
      $("signin").hidden = true;
      route();
    });
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY_STORAGE);
    state.key = null;
    $("session").hidden = true;
    ["list-view", "edit-view", "results-view"].forEach(function (id) { $(id).hidden = true; });
    WaypointPage.showSignin(message);
  }

  $("signin-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var key = $("key-input").value.trim();
    if (!key) return;
    $("signin-error").hidden = true;
    signIn(key).catch(function (e) {
      state.key = null;
      var msg = e.status === 401 ? "Unknown key." : e.status === 403 ? "This key lacks the admin scope." : e.message;
      $("signin-error").textContent = msg;
      $("signin-error").hidden = false;
      $("key-input").focus();
    });
  });
  $("sign-out").addEventListener("click", function () { signOut(""); });

  /* ---------- routing ---------- */

  function show(viewId) {
    ["list-view", "edit-view", "results-view"].forEach(function (id) { $(id).hidden = id !== viewId; });
  }

  function route() {
    if (!state.key) return;
    var hash = location.hash.replace(/^#\/?/, "");
    var parts = hash.split("/");
    if (parts[0] === "new") return openEditor(null);
    if (parts[0] === "edit" && parts[1]) return openEditor(decodeURIComponent(parts[1]));
    if (parts[0] === "results" && parts[1]) return openResults(decodeURIComponent(parts[1]));
    return openList();
  }
  window.addEventListener("hashchange", function () {
    // a message from the view we just left (e.g. "Created ...") survives one navigation
    var flash = state.flash;
    state.flash = null;
    alertBox(flash ? flash.message : "", flash ? flash.kind : undefined);
    route();
  });

  function navigate(hash, message, kind) {
    if (location.hash === hash) {
      alertBox(message || "", kind);
      route();
    } else {
      state.flash = message ? { message: message, kind: kind } : null;
      location.hash = hash;
    }
  }

  /* ---------- list ---------- */

  function statusActions(exp, after) {
    var buttons = [];
    function action(label, verb, danger) {
      buttons.push(el("button", {
        type: "button",
        className: danger ? "danger" : "",
        "aria-label": label + " " + exp.id,
        onclick: function (ev) {
          var b = ev.currentTarget;
          if (verb === "stop" && !window.confirm("Stop " + exp.id + "? Stopping is final.")) return;
          b.disabled = true;
          api("POST", "/v1/experiments/" + encodeURIComponent(exp.id) + "/" + verb, undefined, exp.version)
            .then(function (updated) {
              alertBox(updated.id + " is now " + updated.status + ".", "ok");
              after();
            })
            .catch(function (e) { b.disabled = false; alertBox(e.message); });
        }
      }, label));
    }
    if (exp.status === "draft") action("Start", "start");
    if (exp.status === "paused") action("Resume", "start");
    if (exp.status === "running") action("Pause", "pause");
    if (exp.status !== "stopped") action("Stop", "stop", true);
    return buttons;
  }

  function openList() {
    show("list-view");
    return api("GET", "/v1/experiments").then(function (list) {
      var body = $("list-body");
      clear(body);
      $("list-empty").hidden = list.length > 0;
      $("list-table").hidden = list.length === 0;
      list.forEach(function (exp) {
        var actions = el("td", { className: "actions" });
        if (exp.status !== "stopped") {
          actions.appendChild(el("a", { className: "button", href: "#/edit/" + encodeURIComponent(exp.id), "aria-label": "Edit " + exp.id }, "Edit"));
        }
        actions.appendChild(el("a", { className: "button", href: "#/results/" + encodeURIComponent(exp.id), "aria-label": "Results of " + exp.id }, "Results"));
        statusActions(exp, openList).forEach(function (b) { actions.appendChild(b); });
        body.appendChild(el("tr", { "data-id": exp.id },
          el("th", { scope: "row" }, el("strong", {}, exp.id), exp.description ? el("div", { className: "hint" }, exp.description) : null),
          el("td", {}, el("span", { className: "badge " + exp.status, "data-status": exp.status }, exp.status)),
          el("td", {}, exp.primary_metric),
          el("td", {}, exp.namespace),
          el("td", { className: "num" }, exp.coverage + " %"),
          el("td", {}, exp.variants.map(function (v) { return v.id + " " + Math.round(v.weight * 1000) / 10 + " %"; }).join(", ")),
          actions));
      });
      focusHeading("list-title");
    }).catch(function (e) { alertBox(e.message); });
  }

  /* ---------- editor ---------- */

  function csv(value) {
    return value.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
  }

  function variantRow(v, index) {
    var n = index + 1;
    var row = el("div", { className: "variant", "data-index": String(index) });
    function field(label, input) {
      input.setAttribute("aria-label", "Variant " + n + " " + label.toLowerCase());
      return el("div", {}, el("label", { "for": input.id }, label), input);
    }
    row.appendChild(field(index === 0 ? "Id (control)" : "Id",
      el("input", { id: "v-id-" + n, className: "v-id", value: v.id || "", required: true, autocomplete: "off", spellcheck: "false" })));
    row.appendChild(field("Weight", el("input", { id: "v-weight-" + n, className: "v-weight", type: "number", min: "0", max: "1", step: "any", value: v.weight === undefined ? "" : String(v.weight) })));
    row.appendChild(field("Description", el("input", { id: "v-desc-" + n, className: "v-desc", value: v.description || "" })));
    var params = v.params && Object.keys(v.params).some(function (k) { return v.params[k] !== null; })
      ? JSON.stringify(stripNulls(v.params)) : "";
    row.appendChild(field("Parameters (JSON)", el("textarea", { id: "v-params-" + n, className: "v-params", rows: "1", spellcheck: "false", placeholder: "{}" }, params)));
    row.appendChild(el("div", {}, el("span", { className: "sr-only" }, " "),
      el("button", { type: "button", className: "quiet remove", "aria-label": "Remove variant " + n, onclick: function () { row.remove(); renumber(); updateWeightSum(); } }, "Remove")));
    row.addEventListener("input", updateWeightSum);
    return row;
  }

  function stripNulls(obj) {
    var out = {};
    Object.keys(obj).forEach(function (k) { if (obj[k] !== null) out[k] = obj[k]; });
    return out;
  }

  function renumber() {
    var rows = $("variant-rows").querySelectorAll(".variant");
    rows.forEach(function (row, i) { row.setAttribute("data-index", String(i)); });
  }

  function updateWeightSum() {
    var sum = 0;
    $("variant-rows").querySelectorAll(".v-weight").forEach(function (i) { sum += Number(i.value) || 0; });
    sum = Math.round(sum * 1e6) / 1e6;
    $("weight-sum").textContent = "Weights sum to " + sum + (Math.abs(sum - 1) > 1e-6 ? " (must be 1)" : "");
  }

  function fillForm(exp) {
    var f = $("edit-form");
    f.reset();
    $("f-id").value = exp ? exp.id : "";
    $("f-id").disabled = !!exp;
    $("f-description").value = exp ? exp.description : "";
    $("f-hypothesis").value = exp ? exp.hypothesis : "";
    $("f-primary").value = exp ? exp.primary_metric : "click";
    f.querySelectorAll("input[name=guardrail]").forEach(function (c) { c.checked = !!exp && exp.guardrail_metrics.indexOf(c.value) >= 0; });
    $("f-coverage").value = exp ? exp.coverage : 100;
    $("f-holdout").value = exp ? exp.holdout : 0;
    $("f-namespace").value = exp ? exp.namespace : "default";
    $("f-mde").value = exp ? exp.minimum_detectable_effect : 0.05;
    var t = exp ? exp.targeting : { channels: [], countries: [], languages: [], segments: [] };
    f.querySelectorAll("input[name=channel]").forEach(function (c) { c.checked = t.channels.indexOf(c.value) >= 0; });
    $("f-countries").value = t.countries.join(", ");
    $("f-languages").value = t.languages.join(", ");
    $("f-segments").value = t.segments.join(", ");
    var rows = $("variant-rows");
    clear(rows);
    var variants = exp ? exp.variants : [{ id: "control", weight: 0.5 }, { id: "treatment", weight: 0.5 }];
    variants.forEach(function (v, i) { rows.appendChild(variantRow(v, i)); });
    updateWeightSum();
  }

  function clearErrors() {
    $("form-errors").hidden = true;
    clear($("form-error-list"));
    $("edit-form").querySelectorAll("[aria-invalid]").forEach(function (n) { n.removeAttribute("aria-invalid"); });
    $("edit-form").querySelectorAll(".field-error").forEach(function (n) { n.remove(); });
  }

  function inputFor(path) {
    // path like "variants.1.weight", "coverage", "targeting.channels"
    var parts = path.split(".");
    if (parts[0] === "variants" && parts.length >= 3) {
      var rows = $("variant-rows").querySelectorAll(".variant");
      var row = rows[Number(parts[1])];
      if (!row) return $("f-variants");
      var cls = { id: ".v-id", weight: ".v-weight", description: ".v-desc", params: ".v-params" }[parts[2]];
      return (cls && row.querySelector(cls)) || row;
    }
    var byName = {
      id: "f-id", description: "f-description", hypothesis: "f-hypothesis", primary_metric: "f-primary",
      guardrail_metrics: "f-guardrails", coverage: "f-coverage", holdout: "f-holdout",
      namespace: "f-namespace", minimum_detectable_effect: "f-mde", variants: "f-variants",
      "targeting.channels": "f-channels", "targeting.countries": "f-countries",
      "targeting.languages": "f-languages", "targeting.segments": "f-segments"
    };
    return $(byName[path] || byName[parts.slice(0, 2).join(".")] || byName[parts[0]] || "") || null;
  }

  function showErrors(items) {
    // items: [{field, msg}]
    var list = $("form-error-list");
    items.forEach(function (item) {
      var target = item.field ? inputFor(item.field) : null;
      var label = item.field && item.field !== "body" ? item.field + ": " : "";
      list.appendChild(el("li", {}, label + item.msg));
      if (target) {
        target.setAttribute("aria-invalid", "true");
        var note = el("p", { className: "field-error" }, item.msg);
        if (target.tagName === "FIELDSET" || target.classList.contains("variant")) target.appendChild(note);
        else target.insertAdjacentElement("afterend", note);
      }
    });
    if (!items.length) return;
    // a rule about the whole spec (e.g. the weight sum) is shown at the variants too
    items.forEach(function (item) {
      if ((!item.field || item.field === "body") && /weight/.test(item.msg)) {
        $("f-variants").setAttribute("aria-invalid", "true");
        $("f-variants").appendChild(el("p", { className: "field-error" }, item.msg));
      }
    });
    $("form-errors").hidden = false;
    $("form-errors").focus();
  }

  function readForm() {
    var errors = [];
    var f = $("edit-form");
    var variants = [];
    $("variant-rows").querySelectorAll(".variant").forEach(function (row, i) {
      var v = {
        id: row.querySelector(".v-id").value.trim(),
        weight: row.querySelector(".v-weight").value === "" ? null : Number(row.querySelector(".v-weight").value),
        description: row.querySelector(".v-desc").value
      };
      var raw = row.querySelector(".v-params").value.trim();
      if (raw) {
        try { v.params = JSON.parse(raw); } catch (e) {
          errors.push({ field: "variants." + i + ".params", msg: "parameters are not valid JSON (" + e.message + ")" });
        }
      }
      variants.push(v);
    });
    var spec = {
      id: $("f-id").value.trim(),
      description: $("f-description").value,
      hypothesis: $("f-hypothesis").value,
      primary_metric: $("f-primary").value,
      guardrail_metrics: Array.prototype.map.call(f.querySelectorAll("input[name=guardrail]:checked"), function (c) { return c.value; }),
      coverage: Number($("f-coverage").value),
      holdout: Number($("f-holdout").value),
      namespace: $("f-namespace").value.trim() || "default",
      minimum_detectable_effect: Number($("f-mde").value),
      targeting: {
        channels: Array.prototype.map.call(f.querySelectorAll("input[name=channel]:checked"), function (c) { return c.value; }),
        countries: csv($("f-countries").value).map(function (s) { return s.toUpperCase(); }),
        languages: csv($("f-languages").value).map(function (s) { return s.toLowerCase(); }),
        segments: csv($("f-segments").value)
      },
      variants: variants
    };
    if (state.editing) spec.seed = state.editing.seed;
    return { spec: spec, errors: errors };
  }

  function openEditor(id) {
    show("edit-view");
    clearErrors();
    state.editing = null;
    $("edit-note").hidden = true;
    if (!id) {
      $("edit-title").textContent = "New experiment";
      $("save").textContent = "Create experiment";
      fillForm(null);
      focusHeading("edit-title");
      return Promise.resolve();
    }
    return api("GET", "/v1/experiments/" + encodeURIComponent(id)).then(function (exp) {
      state.editing = exp;
      $("edit-title").textContent = "Edit " + exp.id;
      $("save").textContent = "Save changes";
      if (exp.status === "running" || exp.status === "paused") {
        $("edit-note").textContent = "This experiment is " + exp.status + ": variant ids and order, namespace and seed are fixed. Enrolled users keep their variant when weights or coverage change.";
        $("edit-note").hidden = false;
      }
      fillForm(exp);
      focusHeading("edit-title");
    }).catch(function (e) { alertBox(e.message); });
  }

  $("add-variant").addEventListener("click", function () {
    var rows = $("variant-rows");
    var n = rows.querySelectorAll(".variant").length;
    var row = variantRow({ id: "", weight: 0 }, n);
    rows.appendChild(row);
    row.querySelector(".v-id").focus();
    updateWeightSum();
  });

  $("edit-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    clearErrors();
    alertBox("");
    var read = readForm();
    if (read.errors.length) { showErrors(read.errors); return; }
    var editing = state.editing;
    var req = editing
      ? api("PUT", "/v1/experiments/" + encodeURIComponent(editing.id), read.spec, editing.version)
      : api("POST", "/v1/experiments", read.spec);
    $("save").disabled = true;
    req.then(function (exp) {
      $("save").disabled = false;
      navigate("#/", (editing ? "Saved " : "Created ") + exp.id + " (version " + exp.version + ").", "ok");
    }).catch(function (e) {
      $("save").disabled = false;
      var body = e.body || {};
      if (Array.isArray(body.detail)) {
        showErrors(body.detail.map(function (d) { return { field: d.field, msg: d.msg }; }));
      } else {
        showErrors([{ field: "", msg: e.message }]);
      }
    });
  });

  /* ---------- results ---------- */

  function pct(x, digits) { return x === null || x === undefined ? "–" : (x * 100).toFixed(digits === undefined ? 1 : digits) + " %"; }
  function num(x, digits) { return x === null || x === undefined ? "–" : Number(x).toFixed(digits === undefined ? 2 : digits); }
  function pval(p) { return p === null || p === undefined ? "–" : p < 0.0001 ? p.toExponential(1) : p.toFixed(4); }

  function metricOf(arm, metric) {
    if (metric === "value") {
      var v = arm.value;
      return { point: v.per_user, ci: v.ci, cmp: v.vs_control, fmt: function (x) { return num(x); } };
    }
    var r = arm.rates[metric];
    return { point: r.rate, ci: r.ci, cmp: r.vs_control, fmt: function (x) { return pct(x); } };
  }

  function drawChart(res, metric) {
    var box = $("chart");
    clear(box);
    var arms = res.arms;
    var rowH = 34, left = 110, right = 24, top = 24, width = 640;
    var height = top + rowH * arms.length + 30;
    var points = arms.map(function (a) { return metricOf(a, metric); });
    var hi = 0;
    points.forEach(function (p) {
      if (p.ci) hi = Math.max(hi, p.ci.upper);
      if (p.point !== null && p.point !== undefined) hi = Math.max(hi, p.point);
    });
    if (hi <= 0) hi = metric === "value" ? 1 : 0.1;
    hi = hi * 1.1;
    var plotW = width - left - right;
    function x(v) { return left + Math.max(0, Math.min(1, v / hi)) * plotW; }
    var label = METRIC_LABELS[metric] || metric;
    var root = svg("svg", { viewBox: "0 0 " + width + " " + height, role: "img", "aria-labelledby": "chart-title chart-desc", id: "results-chart" });
    root.appendChild(svg("title", { id: "chart-title" }, label + " per variant with 95 % intervals"));
    var desc = arms.map(function (a, i) {
      var p = points[i];
      return a.arm + ": " + p.fmt(p.point) + (p.ci ? " (" + p.fmt(p.ci.lower) + " to " + p.fmt(p.ci.upper) + ")" : " (no interval yet)");
    }).join("; ");
    root.appendChild(svg("desc", { id: "chart-desc" }, desc));
    // axis and grid
    for (var t = 0; t <= 4; t++) {
      var v = hi * t / 4, gx = x(v);
      root.appendChild(svg("line", { x1: gx, x2: gx, y1: top - 6, y2: height - 26, stroke: "#e3e8ef" }));
      root.appendChild(svg("text", { x: gx, y: height - 10, "text-anchor": "middle", "font-size": "11", fill: "#5a6575" },
        metric === "value" ? num(v) : pct(v, 0)));
    }
    var ctl = points[0];
    if (ctl.point !== null && ctl.point !== undefined) {
      root.appendChild(svg("line", { x1: x(ctl.point), x2: x(ctl.point), y1: top - 8, y2: height - 26, stroke: "#9aa7b8", "stroke-dasharray": "4 3" }));
    }
    arms.forEach(function (a, i) {
      var p = points[i];
      var cy = top + rowH * i + rowH / 2;
      var g = svg("g", { "class": "arm", "data-arm": a.arm });
      g.appendChild(svg("text", { x: left - 10, y: cy + 4, "text-anchor": "end", "font-size": "12", fill: "#1b2330" }, a.arm + (a.is_control ? " (control)" : "")));
      var color = a.is_control ? "#5a6575" : a.is_holdout ? "#8a5300" : "#1d4ed8";
      if (p.ci) {
        g.appendChild(svg("line", { "class": "ci", x1: x(p.ci.lower), x2: x(p.ci.upper), y1: cy, y2: cy, stroke: color, "stroke-width": "3", "stroke-linecap": "round" }));
        [p.ci.lower, p.ci.upper].forEach(function (end) {
          g.appendChild(svg("line", { x1: x(end), x2: x(end), y1: cy - 6, y2: cy + 6, stroke: color, "stroke-width": "2" }));
        });
      }
      if (p.point !== null && p.point !== undefined) {
        g.appendChild(svg("circle", { "class": "point", cx: x(p.point), cy: cy, r: "5", fill: color }));
      } else {
        g.appendChild(svg("text", { x: left + 4, y: cy + 4, "font-size": "11", fill: "#5a6575" }, "no data yet"));
      }
      root.appendChild(g);
    });
    box.appendChild(root);
    $("chart-caption").textContent = label.charAt(0).toUpperCase() + label.slice(1) + " per variant, with 95 % intervals (dashed: control)";
  }

  function renderResults() {
    var res = state.results, exp = state.experiment;
    if (!res || !exp) return;
    var metric = $("results-metric").value;
    $("col-rate").textContent = (metric === "value" ? "Value per user" : "Rate") + " [95 % CI]";
    $("results-caption").textContent = "Per variant, " + (METRIC_LABELS[metric] || metric) + (metric === res.primary_metric ? " (primary metric)" : "");
    var warnings = $("results-warnings");
    clear(warnings);
    res.warnings.forEach(function (w) { warnings.appendChild(el("li", {}, w)); });
    var body = $("results-body");
    clear(body);
    res.arms.forEach(function (a) {
      var m = metricOf(a, metric);
      var cmp = m.cmp;
      var lift = "–", cls = "";
      if (cmp && cmp.lift !== null) {
        lift = (cmp.lift >= 0 ? "+" : "") + pct(cmp.lift) + (cmp.lift_ci ? " [" + pct(cmp.lift_ci.lower) + ", " + pct(cmp.lift_ci.upper) + "]" : "");
        if (cmp.significant) cls = cmp.lift > 0 ? "better" : "worse";
      }
      body.appendChild(el("tr", { "data-arm": a.arm },
        el("th", { scope: "row" }, a.arm + (a.is_control ? " (control)" : a.is_holdout ? " (holdout)" : "")),
        el("td", { className: "num" }, String(a.users)),
        el("td", { className: "num" }, String(a.exposures)),
        el("td", { className: "num" }, pct(a.observed_share) + " (" + pct(a.expected_share) + ")"),
        el("td", { className: "num" }, m.fmt(m.point) + (m.ci ? " [" + m.fmt(m.ci.lower) + ", " + m.fmt(m.ci.upper) + "]" : "")),
        el("td", { className: "num " + cls }, a.is_control ? "control" : lift),
        el("td", { className: "num" }, cmp ? pval(cmp.p_value) : "–"),
        el("td", { className: "num" }, cmp && cmp.prob_beat_control !== null ? pct(cmp.prob_beat_control) : "–")));
    });
    var srm = res.srm;
    var srmBox = $("srm-box");
    clear(srmBox);
    srmBox.appendChild(el("h2", {}, "Sample ratio check"));
    srmBox.appendChild(el("p", { className: srm.flagged ? "srm-bad" : "srm-ok", id: "srm-verdict" },
      srm.flagged ? "Mismatch: the split differs from the design" : "OK: the split matches the design"));
    srmBox.appendChild(el("p", {}, "p = " + pval(srm.p_value) + " (flagged below " + srm.threshold + ")"));
    srmBox.appendChild(el("p", { className: "hint" },
      res.required_users_per_variant ? "About " + res.required_users_per_variant.toLocaleString() + " users per variant are needed to detect the minimum effect on " + res.primary_metric + "." : "The required sample size is not known yet."));
    drawChart(res, metric);
  }

  function renderHistory(entries) {
    var body = $("history-body");
    clear(body);
    entries.slice().reverse().forEach(function (e) {
      var changes = Object.keys(e.changes).map(function (k) {
        var c = e.changes[k];
        return k + ": " + JSON.stringify(c[0]) + " → " + JSON.stringify(c[1]);
      });
      var list = el("ul", { className: "plain" });
      changes.slice(0, 12).forEach(function (c) { list.appendChild(el("li", {}, c)); });
      if (changes.length > 12) list.appendChild(el("li", { className: "hint" }, "… and " + (changes.length - 12) + " more"));
      body.appendChild(el("tr", {},
        el("td", {}, new Date(e.ts).toLocaleString()),
        el("td", {}, e.actor),
        el("td", {}, e.action + " (v" + e.version + ")"),
        el("td", {}, list)));
    });
  }

  function loadResults(id) {
    var path = "/v1/experiments/" + encodeURIComponent(id);
    return Promise.all([api("GET", path), api("GET", path + "/results"), api("GET", path + "/audit")])
      .then(function (all) {
        state.experiment = all[0];
        state.results = all[1];
        var exp = all[0];
        $("results-title").textContent = "Results · " + exp.id;
        var badge = $("results-status");
        badge.textContent = exp.status;
        badge.className = "badge " + exp.status;
        var actions = $("results-actions");
        clear(actions);
        statusActions(exp, function () { loadResults(id); }).forEach(function (b) { actions.appendChild(b); });
        renderResults();
        renderHistory(all[2]);
      });
  }

  function openResults(id) {
    show("results-view");
    state.results = null;
    clear($("chart"));
    return api("GET", "/v1/experiments/" + encodeURIComponent(id)).then(function (exp) {
      $("results-metric").value = exp.primary_metric;
      return loadResults(id);
    }).then(function () { focusHeading("results-title"); })
      .catch(function (e) { alertBox(e.message); });
  }

  $("results-metric").addEventListener("change", renderResults);
  $("results-refresh").addEventListener("click", function () {
    if (state.experiment) loadResults(state.experiment.id).catch(function (e) { alertBox(e.message); });
  });

  /* ---------- start ---------- */

  var saved = sessionStorage.getItem(KEY_STORAGE);
  if (saved) {
    signIn(saved).catch(function () { signOut("Your saved key was not accepted; sign in again."); });
  } else {
    $("key-input").focus();
  }
})();
