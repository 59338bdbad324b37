// Starts ReDoc on this service's OpenAPI document (a file, not an inline script: see CSP).
window.addEventListener("load", function () {
  Redoc.init("/openapi.json", {}, document.getElementById("redoc"));
});
