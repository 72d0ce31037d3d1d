/* The doctor's station: ICD-10 autocomplete for the visit record, and live refresh of the
 * patients' line from queueing's stream. Vanilla JS, no build step; the page works without it
 * (a typed code is taken as is, and the "Refresh" link reloads the line). */
(function () {
  "use strict";

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  /* --- ICD-10 search (WAI-ARIA combobox with a listbox popup) ------------------------------- */
  function setUpDiagnosisSearch(form) {
    var input = form.querySelector("#id_diagnosis_query");
    var listbox = form.querySelector("#dx-options");
    var list = form.querySelector("#dx-list");
    var empty = form.querySelector(".dx-empty");
    if (!input || !listbox || !list) return;
    var url = input.getAttribute("data-icd-url");
    var results = [];
    var active = -1;
    var timer = null;
    var generation = 0;

    function close() {
      listbox.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var options = listbox.querySelectorAll("[role=option]");
      options.forEach(function (option, i) { option.setAttribute("aria-selected", i === index ? "true" : "false"); });
      active = index;
      if (index >= 0 && options[index]) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function render() {
      listbox.innerHTML = "";
      if (!results.length) {
        listbox.appendChild(el("li", { "class": "dx-none", text: listbox.getAttribute("data-label-none") }));
      }
      results.forEach(function (code, i) {
        var option = el("li", {
          id: "dx-option-" + i, role: "option", "class": "dx-option", "aria-selected": "false",
          "data-code": code.code, "data-testid": "dx-option"
        }, [
          el("span", { "class": "dx-code mono", text: code.code }),
          el("span", { "class": "dx-name", text: code.name_zh }),
          el("span", { "class": "dx-en", text: code.name_en })
        ]);
        option.addEventListener("mousedown", function (event) { event.preventDefault(); pick(code); });
        listbox.appendChild(option);
      });
      listbox.hidden = false;
      input.setAttribute("aria-expanded", "true");
      highlight(results.length ? 0 : -1);
    }

    function search() {
      var query = input.value.trim();
      if (!query) { close(); return; }
      var mine = ++generation;
      fetch(url + "?q=" + encodeURIComponent(query) + "&limit=12", {
        credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() }
      }).then(function (response) {
        return response.ok ? response.json() : [];
      }).then(function (data) {
        if (mine !== generation) return;  // a newer query is on its way
        results = Array.isArray(data) ? data : [];
        render();
      }).catch(function () { close(); });
    }

    function pick(code) {
      close();
      input.value = "";
      if (list.querySelector('[data-code="' + code.code + '"]')) return;
      var first = !list.querySelector(".dx-item");
      var keep = el("input", { type: "checkbox", name: "diagnosis", value: code.code });
      keep.checked = true;
      var primary = el("input", { type: "radio", name: "primary", value: code.code });
      primary.checked = first;
      var remove = el("button", {
        type: "button", "class": "btn btn-quiet btn-small", "data-testid": "dx-remove",
        text: list.getAttribute("data-label-remove")
      });
      var item = el("li", { "class": "dx-item", "data-code": code.code, "data-testid": "dx-item" }, [
        el("label", { "class": "dx-keep" }, [
          keep, el("span", { "class": "dx-code mono", text: code.code }), el("span", { "class": "dx-name", text: code.name_zh })
        ]),
        el("label", { "class": "dx-primary" }, [primary, document.createTextNode(" " + list.getAttribute("data-label-primary"))]),
        remove
      ]);
      remove.addEventListener("click", function () { item.remove(); if (empty) empty.hidden = !!list.querySelector(".dx-item"); });
      list.appendChild(item);
      if (empty) empty.hidden = true;
      input.focus();
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(search, 150);
    });
    input.addEventListener("keydown", function (event) {
      var open = !listbox.hidden;
      if (event.key === "ArrowDown" && open) { event.preventDefault(); highlight(Math.min(active + 1, results.length - 1)); }
      else if (event.key === "ArrowUp" && open) { event.preventDefault(); highlight(Math.max(active - 1, 0)); }
      else if (event.key === "Enter") {
        if (open && active >= 0 && results[active]) { event.preventDefault(); pick(results[active]); }
        else if (open) { event.preventDefault(); }
      } else if (event.key === "Escape") { close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  /* --- live refresh of the line ------------------------------------------------------------- */
  function setUpLiveLine(station) {
    var streamUrl = station.getAttribute("data-stream-url");
    var lineUrl = station.getAttribute("data-line-url");
    var target = document.getElementById("station-line");
    if (!streamUrl || !lineUrl || !target || !window.EventSource) return;
    var pending = null;
    var backoff = 2000;

    function reload() {
      clearTimeout(pending);
      pending = setTimeout(function () {
        // Never replace the line while the doctor is using one of its controls.
        if (target.contains(document.activeElement) && document.activeElement !== document.body) {
          reload();
          return;
        }
        fetch(lineUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } })
          .then(function (response) { return response.ok ? response.text() : null; })
          .then(function (html) { if (html !== null) target.innerHTML = html; });
      }, 300);
    }

    function connect() {
      var source = new EventSource(streamUrl);
      source.onmessage = function () { backoff = 2000; reload(); };
      source.onerror = function () {
        if (source.readyState === EventSource.CLOSED) {  // refused (signed out, no permission)
          setTimeout(connect, backoff);
          backoff = Math.min(backoff * 2, 60000);
        }
      };
    }
    connect();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("record-form");
    if (form) setUpDiagnosisSearch(form);
    var station = document.querySelector("[data-testid=station]");
    if (station) setUpLiveLine(station);
  });
})();
