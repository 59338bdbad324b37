/* Waypoint's pages (agent console, experiments admin): the DOM helpers and the JSON call they
 * share. Plain JavaScript, no dependencies; loaded before each page's own script, which takes
 * what it needs from window.WaypointPage. Data is only ever inserted as text (never as markup).
 */
(function () {
  "use strict";

  function $(id) { return document.getElementById(id); }

  /** An element with attributes (text, className, on<event>, or plain) and children. */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        var v = attrs[name];
        if (v === null || v === undefined || v === false) return;
        if (name === "text") node.textContent = v;
        else if (name === "className") node.className = v;
        else if (name.slice(0, 2) === "on") node.addEventListener(name.slice(2), v);
        else node.setAttribute(name, v === true ? "" : v);
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  /** The sign-in form shown (every page has one: #signin, #signin-error, #key-input), with
   * ``message`` (if any) as its error, and the focus in the empty key field. */
  function showSignin(message) {
    $("signin").hidden = false;
    var err = $("signin-error");
    err.hidden = !message;
    err.textContent = message || "";
    $("key-input").value = "";
    $("key-input").focus();
  }

  /** A failed call: its status, the error body and a message made of the body's detail. */
  function ApiError(status, body) {
    this.status = status;
    this.body = body;
    var detail = body && body.detail;
    if (Array.isArray(detail)) {
      detail = detail.map(function (d) { return (d.field ? d.field + ": " : "") + d.msg; }).join("; ");
    }
    this.message = detail || (body && body.error) || ("HTTP " + status);
  }

  /** fetch(path, init), resolving to the parsed JSON body; a status >= 400 rejects with an ApiError. */
  function fetchJson(path, init) {
    return fetch(path, init).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = { detail: text }; }
        if (!r.ok) throw new ApiError(r.status, data);
        return data;
      });
    });
  }

  window.WaypointPage = {
    $: $, el: el, clear: clear, showSignin: showSignin, ApiError: ApiError, fetchJson: fetchJson
  };
})();
