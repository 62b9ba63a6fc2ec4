/**
 * `npm run openapi [-- --check]`: writes the OpenAPI document
 * (packages/functions/openapi.json) and the typed client's types
 * (src/lib/openapi-types.ts) from the route table and the handlers' specs.
 * `--check` writes nothing and fails when either file is stale.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { generate } from "../lib/openapi.ts";

const FILES = {
  json: new URL("../../openapi.json", import.meta.url),
  types: new URL("../lib/openapi-types.ts", import.meta.url),
};

const check = process.argv.includes("--check");
const generated = await generate();
let stale = 0;
for (const [key, file] of Object.entries(FILES)) {
  const fresh = generated[key as keyof typeof FILES];
  let current = "";
  try {
    current = readFileSync(file, "utf8");
  } catch {}
  if (current === fresh) continue;
  if (check) {
    stale++;
    process.stderr.write(`${file.pathname} is stale: run npm run openapi\n`);
  } else {
    writeFileSync(file, fresh);
    process.stdout.write(`wrote ${file.pathname}\n`);
  }
}
process.exit(stale ? 1 : 0);
