import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { api } from "../lib/api.ts";

// Swagger UI from its npm package, inlined: the page loads nothing but /openapi.json and the
// requests "Try it out" makes. Deployed, the package is installed beside the bundle (routes.ts).
const asset = (name: string) => readFileSync(createRequire(import.meta.url).resolve(`swagger-ui-dist/${name}`), "utf8");

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shopping Agent API</title>
<style>${asset("swagger-ui.css")}</style>
</head>
<body>
<div id="ui"></div>
<script>${asset("swagger-ui-bundle.js")}</script>
<script>
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#ui", deepLinking: true, validatorUrl: null, persistAuthorization: true });
</script>
</body>
</html>
`;

/** The browser may fetch from this origin only: nothing from a CDN, ever. */
const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'";

/** GET /docs (public): the interactive API reference (Swagger UI over /openapi.json). */
export const handler = api({ auth: "none", responses: { 200: "text/html" } }, async () => ({
  status: 200,
  text: PAGE,
  headers: { "content-type": "text/html; charset=utf-8", "content-security-policy": CSP },
}));
