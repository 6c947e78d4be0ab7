// /api/docs: Swagger UI on the server's own OpenAPI document (no outside host).
window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  displayOperationId: true,
  validatorUrl: null, // the online validator would be an outside host
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
