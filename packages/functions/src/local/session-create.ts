/**
 * `npm run session:create -- --email a@b.c [--admin] [--name "A B"] [--days 30]`
 *
 * Creates the user if needed (and makes them admin with --admin), opens a
 * session and prints its bearer token. The token is shown once: only its
 * sha256 is stored. Uses DATABASE_URL (or the embedded database `npm start`
 * uses: stop the server first, PGlite is single-process).
 */
import { parseArgs } from "node:util";
import { Database } from "@shop/core/db";
import * as Session from "@shop/core/session";
import * as User from "@shop/core/user";

const USAGE = 'usage: npm run session:create -- --email a@b.c [--admin] [--name "A B"] [--days 30]';

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        email: { type: "string" },
        admin: { type: "boolean", default: false },
        name: { type: "string" },
        days: { type: "string", default: String(Session.DEFAULT_TTL_DAYS) },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const email = values.email ? User.Email.safeParse(values.email) : null;
  const days = Number(values.days);
  if (!email?.success || !Number.isInteger(days) || days < 1 || days > 3650) {
    process.stderr.write(`${!email?.success ? "--email must be an email address" : "--days must be 1..3650"}\n${USAGE}\n`);
    return 2;
  }
  try {
    const user = await User.ensure({
      email: email.data,
      ...(values.name ? { name: values.name } : {}),
      ...(values.admin ? { isAdmin: true } : {}),
    });
    const session = await Session.create(user.id, { ttlDays: days, userAgent: "session:create" });
    process.stderr.write(
      `user ${user.id} ${user.email}${user.is_admin ? " (admin)" : ""}; session ${session.id} ` +
        `expires ${session.expiresAt.toISOString()}; the token is shown once:\n`,
    );
    process.stdout.write(`${session.token}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`session:create failed: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await Database.close();
  }
}

process.exitCode = await main();
