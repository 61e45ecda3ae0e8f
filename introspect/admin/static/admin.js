// Introspect admin: progressive enhancement only (every page works without it).
// Loaded as an external file because the Content-Security-Policy forbids inline script.
// Model text is only ever written with textContent, never innerHTML.
"use strict";

(function () {
  function metricSwitch() {
    var root = document.querySelector(".heat-root");
    if (!root) return;
    document.querySelectorAll("[data-set-metric]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        root.dataset.metric = link.dataset.setMetric;
        var url = new URL(window.location.href);
        url.searchParams.set("metric", link.dataset.setMetric);
        window.history.replaceState(null, "", url.toString());
      });
    });
  }

  function prob(lp) {
    var x = parseFloat(lp);
    if (isNaN(x)) return "";
    return " (p=" + Math.exp(x).toPrecision(3) + ")";
  }

  function row(tip, label, value) {
    var line = document.createElement("div");
    var key = document.createElement("span");
    key.className = "k";
    key.textContent = label;
    var val = document.createElement("span");
    val.className = "v";
    val.textContent = value;
    line.appendChild(key);
    line.appendChild(val);
    tip.appendChild(line);
  }

  function show(tip, tok) {
    var d = tok.dataset;
    tip.replaceChildren();
    var head = document.createElement("div");
    head.className = "tok-text";
    head.textContent = JSON.stringify(tok.textContent);
    tip.appendChild(head);
    row(tip, "entropy", d.h + " nats");
    row(tip, "self-certainty", d.sc);
    row(tip, "chosen log p", d.lp + prob(d.lp));
    row(tip, "top-1/top-2 margin", d.m);
    var alts = [];
    try {
      alts = JSON.parse(d.alts || "[]");
    } catch (e) {
      alts = [];
    }
    if (alts.length) {
      var title = document.createElement("div");
      title.className = "alts-title";
      title.textContent = "top alternatives";
      tip.appendChild(title);
      var list = document.createElement("ol");
      list.className = "alts";
      alts.forEach(function (alt) {
        var item = document.createElement("li");
        var lp = alt[1] === null ? "-inf" : String(alt[1]);
        item.textContent = JSON.stringify(String(alt[0])) + "  " + lp + prob(alt[1]);
        list.appendChild(item);
      });
      tip.appendChild(list);
    }
    tip.hidden = false;
    var box = tok.getBoundingClientRect();
    var top = box.bottom + 6;
    var left = Math.min(box.left, window.innerWidth - tip.offsetWidth - 8);
    if (top + tip.offsetHeight > window.innerHeight) top = Math.max(4, box.top - tip.offsetHeight - 6);
    tip.style.top = top + "px";
    tip.style.left = Math.max(4, left) + "px";
  }

  function tooltips() {
    var tip = document.getElementById("tok-tip");
    if (!tip) return;
    var current = null;
    function enter(event) {
      var tok = event.target.closest ? event.target.closest(".tok") : null;
      if (!tok || tok === current) return;
      if (current) current.classList.remove("active");
      current = tok;
      tok.classList.add("active");
      show(tip, tok);
    }
    function leave(event) {
      var tok = event.target.closest ? event.target.closest(".tok") : null;
      if (!tok || (event.relatedTarget && tok.contains(event.relatedTarget))) return;
      tok.classList.remove("active");
      current = null;
      tip.hidden = true;
    }
    document.addEventListener("mouseover", enter);
    document.addEventListener("focusin", enter);
    document.addEventListener("mouseout", leave);
    document.addEventListener("focusout", leave);
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") tip.hidden = true;
    });
  }

  // Label queue: c / i / s press the matching control ([data-key]); typing in a field is left alone.
  function queueKeys() {
    var item = document.querySelector("[data-queue]");
    if (!item) return;
    var busy = false;
    document.addEventListener("keydown", function (event) {
      if (busy || event.ctrlKey || event.metaKey || event.altKey) return;
      var target = event.target;
      if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
      var control = item.querySelector('[data-key="' + event.key.toLowerCase() + '"]');
      if (!control) return;
      event.preventDefault();
      busy = true;
      control.click();
    });
  }

  // Sortable columns: th[data-sort="num"|"text"]; a cell's data-value wins over its text.
  function cellValue(row, index, numeric) {
    var cell = row.children[index];
    if (!cell) return numeric ? -Infinity : "";
    var raw = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
    if (!numeric) return raw.toLowerCase();
    var x = parseFloat(raw);
    return isNaN(x) ? -Infinity : x;
  }

  function sortable() {
    document.querySelectorAll("table").forEach(function (table) {
      var heads = table.querySelectorAll("thead th[data-sort]");
      heads.forEach(function (th) {
        th.tabIndex = 0;
        function sort() {
          var index = Array.prototype.indexOf.call(th.parentNode.children, th);
          var numeric = th.dataset.sort === "num";
          var ascending = th.getAttribute("aria-sort") !== "ascending";
          heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
          th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
          var body = table.tBodies[0];
          var rows = Array.prototype.slice.call(body.rows).filter(function (r) { return !r.querySelector(".empty"); });
          rows.sort(function (a, b) {
            var x = cellValue(a, index, numeric), y = cellValue(b, index, numeric);
            return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
          });
          rows.forEach(function (r) { body.appendChild(r); });
        }
        th.addEventListener("click", sort);
        th.addEventListener("keydown", function (event) {
          if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sort(); }
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    metricSwitch();
    tooltips();
    queueKeys();
    sortable();
  });
})();
