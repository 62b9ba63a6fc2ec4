/**
 * The database is Neon, outside this app: SST holds only its connection strings,
 * as encrypted per-stage secrets (`sst secret set <Name> <value> --stage <stage>`).
 *
 * A preview stage (`pr-<number>`) gets its own database in one of two ways:
 *
 * - Preferred: a Neon branch per stage. CI creates the branch (`neonctl branches
 *   create --name pr-123`), then `sst secret set DatabaseUrl <pooled url> --stage pr-123`
 *   before `sst deploy --stage pr-123`, and deletes the branch when the PR closes.
 *   A branch is a copy-on-write clone of its parent, so a preview starts with real
 *   schema and data, and its migrations never touch production.
 * - Fallback: `sst secret set DatabaseUrl <url> --fallback` sets the value every stage
 *   without its own secret uses, so all such previews share one preview database.
 *   Cheaper, but previews then share data, and one PR's migration is every PR's.
 *
 * docs/deploy.md walks through both.
 */

/** Neon's **pooled** URL (`-pooler` host): app traffic, one short connection per request. */
export const databaseUrl = new sst.Secret("DatabaseUrl");

/**
 * Neon's **direct** URL, for migrations only: they hold a session advisory lock and
 * build indexes CONCURRENTLY, which a transaction-mode pooler (PgBouncer) breaks.
 *
 * Optional. The empty placeholder means "not set", which core's config treats as
 * unset and then derives the direct URL from DatabaseUrl by dropping Neon's
 * `-pooler` host suffix. Set it only when the direct URL is not that (another role,
 * another host).
 */
export const migrationsDatabaseUrl = new sst.Secret("MigrationsDatabaseUrl", "");
