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
  // Signing out needs the session's anti-CSRF token: a cached page cannot hold it, so the
  // form asks /v1/session for it on submit (a key in a header has no session: sent as is).
  function signoutWithToken(form) {
    form.addEventListener("submit", function (e) {
      if (form.elements.csrf_token) return;
      e.preventDefault();
      fetch("/v1/session", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .catch(function () { return null; })
        .then(function (s) {
          var input = document.createElement("input");
          input.type = "hidden";
          input.name = "csrf_token";
          input.value = s && s.csrf_token ? s.csrf_token : "";
          form.appendChild(input);
          form.submit();
        });
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll('form[action="/signout"]'),
    signoutWithToken);
  input.addEventListener("input", filter);
  filter();
  document.body.setAttribute("data-wg-ready", "1");
})();
