import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routes } from "@shop/functions/routes";
import { startLocalServer, type RunningServer } from "../support/server.ts";

/**
 * GET /docs in a real browser: Debian's Chromium (`apt-get install chromium`;
 * .ci/run installs it) driven by playwright-core, against `npm start`'s server
 * on a fresh embedded database, authorized with the demo token as a developer would.
 * SCREENSHOT_DIR=docs/screenshots refreshes the screenshot docs/api.md shows.
 */

const CHROMIUM = "/usr/bin/chromium";
const available = existsSync(CHROMIUM);
if (!available) console.warn(`tests/e2e/docs.test.ts skipped: no ${CHROMIUM} (apt-get install chromium)`);

describe.skipIf(!available)("GET /docs in Chromium", () => {
  let server: RunningServer;
  let browser: Browser;
  const dir = mkdtempSync(join(tmpdir(), "shop-docs-"));

  beforeAll(async () => {
    server = await startLocalServer({ DATABASE_URL: `pglite:${join(dir, "db")}` });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists every route, and a request made from the page with the demo token answers 200", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const requested: string[] = [];
    const refused: string[] = [];
    page.on("request", (r) => requested.push(r.url()));
    page.on("console", (m) => m.type() === "error" && /Content Security Policy/.test(m.text()) && refused.push(m.text()));
    await page.goto(`${server.url}/docs`);

    await page.locator(".opblock").first().waitFor();
    const listed = await page.$$eval(".opblock", (blocks) =>
      blocks.map((b) => `${b.querySelector(".opblock-summary-method")?.textContent} ${b.querySelector(".opblock-summary-path")?.getAttribute("data-path")}`),
    );
    expect(listed.sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());

    await page.locator(".btn.authorize").first().click();
    await page.locator(".modal-ux input").first().fill(server.demoToken!);
    await page.locator(".modal-ux .auth-btn-wrapper .authorize").click();
    await page.locator(".modal-ux .btn-done").click();

    const op = page.locator("#operations-row-rowList");
    await op.locator(".opblock-summary").click();
    await op.locator(".try-out__btn").click();
    await op.locator(".execute").click();
    const status = op.locator(".live-responses-table .response .response-col_status");
    await status.waitFor();
    expect((await status.textContent())?.trim()).toBe("200");
    expect(await op.locator(".live-responses-table .microlight").first().textContent()).toContain('"next_cursor"');

    if (process.env.SCREENSHOT_DIR) {
      await op.scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(process.env.SCREENSHOT_DIR, "api-reference.png") });
    }
    // Swagger UI came with the page: the browser asked this server alone, and nothing was refused.
    expect(requested.filter((url) => !url.startsWith(server.url))).toEqual([]);
    expect(refused).toEqual([]);
  });
});
