// Starts Swagger UI on /openapi/docs. A file rather than an inline script, so the page's
// Content-Security-Policy can refuse inline scripts (see tutormax/web/openapi.py).
window.addEventListener("load", function () {
  var container = document.getElementById("swagger-ui-container");
  var config = {
    url: container.dataset.specUrl,
    dom_id: "#swagger-ui-container",
    // No badge from validator.swagger.io: the page must work without the internet.
    validatorUrl: null
  };
  // OPENAPI_SWAGGER_UI_CONFIG, as flask-smorest's own page applies it.
  Object.assign(config, JSON.parse(container.dataset.config || "{}"));
  window.ui = SwaggerUIBundle(config);
});
