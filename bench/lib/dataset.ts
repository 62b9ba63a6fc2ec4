import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { User } from "./http-load.ts";
import { query, type Postgres } from "./postgres.ts";
import { run } from "./procs.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * A benchmark's app database: created, migrated with `npm run migrate` and
 * filled by `npm run db:generate`; returns the sample users (a bearer token and
 * the user's own rows, so every request answers 200).
 */
export async function prepareDataset(
  pg: Postgres,
  db: string,
  scratch: string,
  size: { rows: number; bidsPerRow: number; tokens: number },
): Promise<Array<User & { userId: number }>> {
  await pg.createDatabase(db);
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: "production", DATABASE_URL: pg.url(db) };
  process.stderr.write(`migrating and generating the dataset (--rows=${size.rows} --bids-per-row=${size.bidsPerRow})...\n`);
  await run("npm", ["run", "--silent", "migrate"], { env, cwd: ROOT });
  const tokensOut = join(scratch, "tokens.json");
  const args = [`--rows=${size.rows}`, `--bids-per-row=${size.bidsPerRow}`, `--tokens=${size.tokens}`, `--tokens-out=${tokensOut}`];
  await run("npm", ["run", "--silent", "db:generate", "--", ...args], { env, cwd: ROOT });
  // (token, row id) pairs come from the database: each user's own rows.
  const tokens = (JSON.parse(readFileSync(tokensOut, "utf8")) as { tokens: Array<{ token: string; user_id: number }> }).tokens;
  const rows = await query<{ user_id: number; ids: number[] }>(
    pg.url(db),
    `select user_id::int as user_id, array_agg(id::int order by id) as ids from "row" where user_id = any($1::int[]) group by user_id`,
    [tokens.map((t) => t.user_id)],
  );
  const byUser = new Map(rows.map((r) => [r.user_id, r.ids]));
  const users = tokens.filter((t) => byUser.has(t.user_id)).map((t) => ({ userId: t.user_id, token: t.token, rowIds: byUser.get(t.user_id)! }));
  if (users.length === 0) throw new Error("the generated dataset has no active user with rows");
  return users;
}
