// mbo results site: click a column header to sort its table; type in the box above a table to filter its rows.
"use strict";
function cellKey(row, i) {
  const td = row.cells[i];
  if (!td) return "";
  const v = td.getAttribute("data-v");
  return v === null ? td.textContent.trim().toLowerCase() : parseFloat(v);
}
function sortBy(table, i, th) {
  const body = table.tBodies[0];
  const asc = th.getAttribute("aria-sort") !== "ascending";
  table.querySelectorAll("thead th").forEach((h) => h.removeAttribute("aria-sort"));
  th.setAttribute("aria-sort", asc ? "ascending" : "descending");
  const rows = Array.from(body.rows);
  rows.sort((a, b) => {
    const x = cellKey(a, i), y = cellKey(b, i);
    const missing = (typeof x === "number") - (typeof y === "number");
    if (missing !== 0) return -missing;  // numbers before text ("–")
    const c = x < y ? -1 : x > y ? 1 : 0;
    return asc ? c : -c;
  });
  rows.forEach((r) => body.appendChild(r));
}
document.querySelectorAll("table.sortable").forEach((table) => {
  table.querySelectorAll("thead th").forEach((th, i) => th.addEventListener("click", () => sortBy(table, i, th)));
  const box = table.previousElementSibling;
  if (box && box.classList.contains("filter")) {
    box.addEventListener("input", () => {
      const q = box.value.toLowerCase();
      Array.from(table.tBodies[0].rows).forEach((r) => { r.hidden = !r.textContent.toLowerCase().includes(q); });
    });
  }
});
