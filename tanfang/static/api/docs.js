// Starts Swagger UI on the API's docs page (tanfang/templates/api/docs.html).
// Its settings come from the page's JSON data block, and "Try it out" sends the
// session's CSRF token, which the API requires for POST and PATCH.
(function () {
  "use strict";
  var settings = JSON.parse(document.getElementById("swagger-settings").textContent);
  var csrfToken = document.body.dataset.csrfToken;
  settings.dom_id = "#swagger-ui";
  settings.presets = [SwaggerUIBundle.presets.apis];
  settings.requestInterceptor = function (request) {
    if (csrfToken) {
      request.headers["X-CSRFToken"] = csrfToken;
    }
    return request;
  };
  SwaggerUIBundle(settings);
})();
