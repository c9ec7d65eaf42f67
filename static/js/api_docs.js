// Starts Swagger UI on /v1/docs. Kept out of the page so the CSP needs no
// inline script; everything it loads is served by Munja itself.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.schemaUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
    // No call to the public validator: the reference works offline.
    validatorUrl: null,
    // BaseLayout, not StandaloneLayout: the standalone top bar draws a logo
    // with an inline <style>, which our CSP (rightly) refuses.
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
