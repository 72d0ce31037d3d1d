/* SmartClinic live updates: a Server-Sent Events connection that never gives up.
 *
 * EventSource reconnects by itself after a network cut (sending Last-Event-ID, so the server
 * replays what was missed), but not after an HTTP error (a proxy's 502 while the server
 * restarts): then we open a new one ourselves, with backoff, carrying the last id in the URL.
 *
 *   SmartClinicLive.connect(url, {lastId, onMessage(data, id), onState(state)}) -> {close()}
 *     state: "live" | "reconnecting"
 *
 * Declarative use (no page script needed):
 *   <section data-live-stream="/staff/queue/stream/?last_id=42"
 *            data-live-refresh="/staff/queue/board/" data-live-target="#board"
 *            data-live-state="#live-state">
 * re-fetches the fragment (debounced) whenever the stream says something changed. While the
 * user types in (or has opened) a form inside the target, the refresh waits until they are done.
 *
 * Plain ES5, no build step: it must run in WeChat's browser and on old display boxes.
 */
(function () {
  "use strict";

  function withLastId(url, lastId) {
    if (!lastId) return url;
    var clean = url.replace(/([?&])last_id=\d*&?/, "$1").replace(/[?&]$/, "");
    return clean + (clean.indexOf("?") === -1 ? "?" : "&") + "last_id=" + lastId;
  }

  function connect(url, options) {
    options = options || {};
    var lastId = options.lastId || 0;
    var source = null;
    var closed = false;
    var delay = 1000;
    var timer = null;
    var state = null;

    function setState(next) {
      if (next === state) return;
      state = next;
      if (options.onState) options.onState(next);
    }

    function open() {
      if (closed) return;
      source = new window.EventSource(withLastId(url, lastId));
      source.onopen = function () {
        delay = 1000;
        setState("live");
      };
      source.onmessage = function (event) {
        if (event.lastEventId) {
          var id = parseInt(event.lastEventId, 10);
          if (!isNaN(id) && id > lastId) lastId = id;
        }
        var data = null;
        try {
          data = JSON.parse(event.data);
        } catch (e) {
          return;
        }
        if (options.onMessage) options.onMessage(data, lastId);
      };
      source.onerror = function () {
        setState("reconnecting");
        if (source.readyState === window.EventSource.CLOSED) {
          // The browser gave up (an HTTP error): try again ourselves, a little later each time.
          source = null;
          timer = window.setTimeout(open, delay);
          delay = Math.min(delay * 2, 30000);
        }
      };
    }

    open();
    return {
      close: function () {
        closed = true;
        if (timer) window.clearTimeout(timer);
        if (source) source.close();
      },
      lastId: function () {
        return lastId;
      },
    };
  }

  function refresher(target, url) {
    var pending = false;
    var running = false;
    var timer = null;

    function busy() {
      var active = document.activeElement;
      if (active && active !== document.body && target.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName)) {
        return true;
      }
      return !!target.querySelector("details[open]");
    }

    function run() {
      timer = null;
      if (running) {
        pending = true;
        return;
      }
      if (busy()) {
        pending = true;
        return;
      }
      pending = false;
      running = true;
      var request = new XMLHttpRequest();
      request.open("GET", url);
      request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      request.onload = function () {
        running = false;
        if (request.status === 200 && !busy()) {
          target.innerHTML = request.responseText;
          target.dispatchEvent(new CustomEvent("live:refreshed", { bubbles: true }));
        } else if (request.status === 200) {
          pending = true;
        }
        if (pending) schedule(300);
      };
      request.onerror = function () {
        running = false;
        schedule(3000);
      };
      request.send();
    }

    function schedule(wait) {
      if (timer) return;
      timer = window.setTimeout(run, wait);
    }

    // Done typing or closed the form: catch up.
    target.addEventListener("focusout", function () {
      if (pending) schedule(400);
    });
    target.addEventListener(
      "toggle",
      function () {
        if (pending) schedule(400);
      },
      true
    );

    return function () {
      schedule(150);
    };
  }

  function stateBadge(element) {
    return function (state) {
      if (!element) return;
      element.setAttribute("data-state", state);
      var text = element.getAttribute("data-text-" + state);
      if (text) element.textContent = text;
    };
  }

  function autoStart() {
    var nodes = document.querySelectorAll("[data-live-stream]");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var targetSelector = node.getAttribute("data-live-target");
      var target = targetSelector ? document.querySelector(targetSelector) : node;
      var refreshUrl = node.getAttribute("data-live-refresh");
      var refresh = refreshUrl && target ? refresher(target, refreshUrl) : null;
      var stateSelector = node.getAttribute("data-live-state");
      connect(node.getAttribute("data-live-stream"), {
        lastId: parseInt(node.getAttribute("data-live-last-id") || "0", 10),
        onState: stateBadge(stateSelector ? document.querySelector(stateSelector) : null),
        onMessage: function (data) {
          if (refresh) refresh();
          node.dispatchEvent(new CustomEvent("live:message", { detail: data, bubbles: true }));
        },
      });
    }
  }

  window.SmartClinicLive = { connect: connect, refresher: refresher, stateBadge: stateBadge };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", autoStart);
  } else {
    autoStart();
  }
})();
