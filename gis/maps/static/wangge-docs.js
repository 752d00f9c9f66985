/* The API docs page: Swagger UI or ReDoc on /openapi.json, from vendored assets only. */
(function () {
  "use strict";
  var el = document.getElementById("docs");
  var spec = el.getAttribute("data-spec");
  if (el.getAttribute("data-kind") === "swagger") {
    window.ui = window.SwaggerUIBundle({
      url: spec,
      dom_id: "#docs",
      deepLinking: true,
      presets: [window.SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
    });
  } else {
    window.Redoc.init(spec, { hideDownloadButton: false }, el);
  }
})();
