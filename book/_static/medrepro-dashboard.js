/* medrepro: the reproduction dashboard's tables sort by any column (click a header) and can hide planned
   papers. Self-written, no dependency; does nothing on other pages. Code: MIT. */
(function () {
  "use strict";

  function cellValue(row, index) {
    var cell = row.cells[index];
    var text = cell ? cell.textContent.trim() : "";
    if (text === "" || text === "—") return null; // empty cells sort last
    var num = parseFloat(text.replace(",", "."));
    return !isNaN(num) && /^[\d.,\s]+$/.test(text) ? num : text.toLowerCase();
  }

  function sortBy(table, index, header) {
    var body = table.tBodies[0];
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index), y = cellValue(b, index);
      if (x === null || y === null) return x === y ? 0 : (x === null ? 1 : -1);
      var c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
      return ascending ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  function setup() {
    var page = document.getElementById("reproduction-dashboard");
    if (!page) return;
    var tables = page.querySelectorAll("table");
    Array.prototype.forEach.call(tables, function (table) {
      if (!table.tHead || !table.tBodies.length) return;
      table.classList.add("medrepro-dashboard-table");
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
        th.setAttribute("role", "button");
        th.setAttribute("tabindex", "0");
        th.title = "Sort by this column";
        th.addEventListener("click", function () { sortBy(table, index, th); });
        th.addEventListener("keydown", function (e) {
          if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, index, th); }
        });
      });
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        if (row.textContent.indexOf("planned") !== -1 && !row.querySelector("a")) row.classList.add("medrepro-planned");
      });
    });
    var first = page.querySelector("table");
    if (!first) return;
    var label = document.createElement("label");
    label.className = "medrepro-filter";
    var box = document.createElement("input");
    box.type = "checkbox";
    box.id = "medrepro-hide-planned";
    label.appendChild(box);
    label.appendChild(document.createTextNode(" show only papers with a notebook"));
    box.addEventListener("change", function () {
      page.classList.toggle("medrepro-hide-planned", box.checked);
    });
    var section = first.closest("section") || first;
    section.parentNode.insertBefore(label, section);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
