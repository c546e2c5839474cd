// Starts Swagger UI on /docs. A file rather than an inline script, so a Content-Security-Policy
// of script-src 'self' allows it.
(function () {
  "use strict";
  var element = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: element.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    validatorUrl: null, // the public validator would receive the document: never
    showExtensions: true,
    persistAuthorization: false,
  });
})();
