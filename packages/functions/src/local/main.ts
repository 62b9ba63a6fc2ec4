/**
 * `npm start`: the whole API on http://localhost:3000 (PORT to change), from
 * the same route table and handlers a deployed stage runs.
 *
 * With no DATABASE_URL it uses embedded PGlite under .data/, migrates it,
 * seeds a demo dataset on first start, and prints a demo bearer token with a
 * ready-to-paste curl. With DATABASE_URL it serves that database as it is
 * (run `npm run migrate` against it first). Ctrl-C stops it cleanly.
 */
import { Config, type DatabaseTarget } from "@shop/core/config";
import { Database } from "@shop/core/db";
import * as Session from "@shop/core/session";
import * as User from "@shop/core/user";
import { migrateToLatest, migrationStatus, runOptionsFrom } from "@shop/migrations/runner";
import { DEMO_EMAIL, seedDemo } from "./seed.ts";
import { startServer, type LocalServer } from "./server.ts";

const out = (line = "") => process.stdout.write(`${line}\n`);

/** What a start prints under the banner, and the demo token its curl example uses (null: no example). */
interface Notes {
  lines: string[];
  token: string | null;
}

async function prepareEmbedded(target: Extract<DatabaseTarget, { kind: "pglite" }>): Promise<Notes> {
  const lines: string[] = [];
  let token: string | null = null;
  const { applied } = await migrateToLatest(Database.client(), runOptionsFrom(Config));
  const where = target.dataDir ? `embedded PGlite at ${target.dataDir}` : "in-memory PGlite";
  lines.push(`database: ${where}${applied.length ? ` (migrated: ${applied.join(", ")})` : ""}`);
  const seed = await seedDemo();
  if (seed.seeded) lines.push("demo data: seeded (users, rows, bids, sellers, comments, outreach, quotes)");
  const demo = await User.fromEmail(DEMO_EMAIL);
  if (demo) {
    const session = await Session.create(demo.id, { userAgent: "npm start" });
    lines.push(`demo user: ${DEMO_EMAIL}`, `demo token (shown once, valid ${Session.DEFAULT_TTL_DAYS} days): ${session.token}`);
    token = session.token;
  }
  if (seed.quoteToken) lines.push(`a seller's quote link: /api/quotes/${seed.quoteToken}`);
  if (seed.shareToken) lines.push(`a public share link: /api/share/${seed.shareToken}`);
  return { lines, token };
}

async function prepareServer(target: Extract<DatabaseTarget, { kind: "postgres" }>): Promise<Notes> {
  const status = await migrationStatus(Database.client());
  const lines = [`database: ${target.host} (${Database.client().driver} driver, ${Database.client().mode})`];
  if (status.pending > 0) {
    lines.push(`warning: ${status.pending} migration(s) pending: run \`npm run migrate\` against this database`);
  }
  lines.push("sessions: `npm run session:create -- --email you@example.com` prints a bearer token");
  return { lines, token: null };
}

let server: LocalServer | null = null;
let stopping = false;
async function stop(signal: string) {
  if (stopping) process.exit(1); // a second Ctrl-C: stop waiting
  stopping = true;
  out(`\n${signal}: finishing in-flight requests, closing the database`);
  await server?.close();
  await Database.close();
  process.exit(0);
}
// Before anything starts: a signal that comes while the banner is still being written must find them.
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));

async function main() {
  const target = Config.database.target;
  const { lines, token } = target.kind === "pglite" ? await prepareEmbedded(target) : await prepareServer(target);
  server = await startServer({ port: Config.port });
  out(`Shopping Agent API listening on ${server.url}`);
  for (const line of lines) out(`  ${line}`);
  if (token) {
    out("  try:");
    out(`    curl -H "Authorization: Bearer ${token}" ${server.url}/api/rows`);
  }
  out(`  API reference: ${server.url}/docs ("Authorize" with a token, then "Try it out")`);
  out(`  health: ${server.url}/health/ready`);
  out("  Ctrl-C to stop");
}

try {
  await main();
} catch (err) {
  process.stderr.write(`npm start failed: ${err instanceof Error ? err.message : String(err)}\n`);
  await Database.close().catch(() => {});
  process.exit(1);
}
