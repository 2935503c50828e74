// Starts Swagger UI on /docs (the Content-Security-Policy allows no inline script, so this is a file).
// The document's address comes from the page (it carries the proxy's path prefix). "Try it out" with
// the browser's own sign-in sends the page's CSRF token, as every script of this app does; a Bearer
// token entered with "Authorize" works without it. No outside validator is asked about the document.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") return;
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  window.ui = window.SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    domNode: root,
    deepLinking: true,
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    requestInterceptor: function (request) {
      var target = new URL(request.url, window.location.href);
      if (csrf && target.origin === window.location.origin) {
        request.headers["X-CSRF-Token"] = csrf;
      }
      return request;
    }
  });
})();
