// netgrade report: progressive enhancement only; without this script every panel,
// table row and domain judgement is shown.
(function () {
  "use strict";

  // -- population / outcome tabs ------------------------------------------------------
  var tabs = Array.prototype.slice.call(document.querySelectorAll(".tabs .tab"));
  var panels = Array.prototype.slice.call(document.querySelectorAll("section.panel"));
  function showPanel(id) {
    panels.forEach(function (p) { p.hidden = p.id !== id; });
    tabs.forEach(function (t) { t.setAttribute("aria-selected", t.dataset.panel === id ? "true" : "false"); });
  }
  tabs.forEach(function (t) {
    t.addEventListener("click", function (ev) { ev.preventDefault(); showPanel(t.dataset.panel); });
  });
  function panelOf(el) {
    while (el && !(el.classList && el.classList.contains("panel"))) { el = el.parentElement; }
    return el;
  }
  function reveal(hash) {
    if (!hash || hash.length < 2) { return false; }
    var target = document.getElementById(decodeURIComponent(hash.slice(1)));
    var panel = target && panelOf(target);
    if (!panel) { return false; }
    showPanel(panel.id);
    target.scrollIntoView();
    if (target.classList.contains("rating")) { target.classList.add("highlight"); }
    return true;
  }
  if (panels.length) {
    if (!reveal(window.location.hash)) { showPanel(panels[0].id); }
  }
  // links from a recommendation to the estimates it rests on open the right panel
  Array.prototype.forEach.call(document.querySelectorAll("a.trace"), function (a) {
    a.addEventListener("click", function (ev) {
      ev.preventDefault();
      reveal(a.getAttribute("href"));
    });
  });

  // -- domain judgements: collapsed behind the certainty button -------------------------
  Array.prototype.forEach.call(document.querySelectorAll("button.expand"), function (b) {
    var row = document.getElementById(b.getAttribute("aria-controls"));
    if (!row) { return; }
    row.hidden = true;
    b.setAttribute("aria-expanded", "false");
    b.addEventListener("click", function () {
      var open = b.getAttribute("aria-expanded") === "true";
      row.hidden = open;
      b.setAttribute("aria-expanded", open ? "false" : "true");
    });
  });

  // -- sortable estimate tables (each rating is its own tbody, domains travel with it) ---
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
    heads.forEach(function (th, col) {
      if (!th.dataset.sort) { return; }
      th.tabIndex = 0;
      function sort() {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var bodies = Array.prototype.slice.call(table.querySelectorAll("tbody.rating"));
        var numeric = th.dataset.sort === "number";
        bodies.sort(function (a, b) {
          var x = a.getAttribute("data-sort-" + col) || "", y = b.getAttribute("data-sort-" + col) || "";
          var c = numeric ? (parseFloat(x) - parseFloat(y)) : x.localeCompare(y);
          if (isNaN(c)) { c = 0; }
          return asc ? c : -c;
        });
        bodies.forEach(function (b) { table.appendChild(b); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (ev) { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); sort(); } });
    });
  });

  // -- league table order ------------------------------------------------------------
  Array.prototype.forEach.call(document.querySelectorAll("select.league-order"), function (sel) {
    var table = document.getElementById(sel.dataset.league);
    if (!table) { return; }
    sel.addEventListener("change", function () {
      var order = JSON.parse(table.getAttribute("data-order-" + sel.value) || "[]");
      var rank = {};
      order.forEach(function (t, i) { rank[t] = i; });
      function byCol(a, b) { return rank[a.dataset.col] - rank[b.dataset.col]; }
      Array.prototype.forEach.call(table.querySelectorAll("tr"), function (tr) {
        var cells = Array.prototype.slice.call(tr.children).filter(function (c) { return c.dataset.col !== undefined; });
        if (!cells.length) { return; }
        var after = cells[cells.length - 1].nextElementSibling;
        cells.sort(byCol).forEach(function (c) { tr.insertBefore(c, after); });
      });
      var body = table.querySelector("tbody");
      Array.prototype.slice.call(body.querySelectorAll("tr[data-row]"))
        .sort(function (a, b) { return rank[a.dataset.row] - rank[b.dataset.row]; })
        .forEach(function (tr) { body.appendChild(tr); });
      table.setAttribute("data-current-order", sel.value);
    });
  });
})();
