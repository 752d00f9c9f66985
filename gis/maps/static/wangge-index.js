/* The maps index: filter the list of micro-grids as the person types. */
(function () {
  "use strict";
  var input = document.getElementById("grid-search");
  var items = Array.prototype.slice.call(document.querySelectorAll("#grids li"));
  var count = document.getElementById("grid-count");
  function filter() {
    var q = input.value.trim().toLowerCase();
    var shown = 0;
    items.forEach(function (li) {
      var hit = !q || li.getAttribute("data-text").toLowerCase().indexOf(q) >= 0;
      li.hidden = !hit;
      if (hit) { shown += 1; }
    });
    count.textContent = shown + " / " + items.length;
  }
  input.addEventListener("input", filter);
  filter();
  document.body.setAttribute("data-wg-ready", "1");
})();
