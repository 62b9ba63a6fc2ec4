import { sql, type Kysely } from "kysely";

/**
 * 0009_token_hashes: share links and seller quotes are found by the sha256 of
 * their token (`token_hash`, unique), as sessions are, so a failed lookup
 * compares hashes: how close a guess is to a real token changes nothing. Existing
 * tokens are hashed here and keep working; a trigger hashes whatever a writer
 * still puts in `token` (code from before this migration, during a deploy).
 * New rows keep no plaintext (`token` is null); older rows keep theirs until a later
 * migration drops the column (dropping it now would break that older code mid-deploy).
 * Frozen in time, like every migration.
 */

export const transactional = true;

const TABLES = ["share_link", "seller_quote"] as const;

export const statements: readonly string[] = [
  `CREATE FUNCTION set_token_hash() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF NEW.token IS NOT NULL THEN NEW.token_hash := encode(sha256(convert_to(NEW.token, 'UTF8')), 'hex'); END IF;
    RETURN NEW;
  END $$`,
  ...TABLES.flatMap((table) => [
    `ALTER TABLE ${table} ADD COLUMN token_hash text CHECK (token_hash ~ '^[0-9a-f]{64}$')`,
    `UPDATE ${table} SET token_hash = encode(sha256(convert_to(token, 'UTF8')), 'hex')`,
    // New tokens are stored as their hash alone.
    `ALTER TABLE ${table} ALTER COLUMN token DROP NOT NULL`,
    `ALTER TABLE ${table} ALTER COLUMN token_hash SET NOT NULL`,
    `ALTER TABLE ${table} ADD CONSTRAINT uq_${table}_token_hash UNIQUE (token_hash)`,
    `CREATE TRIGGER ${table}_token_hash BEFORE INSERT OR UPDATE OF token ON ${table} FOR EACH ROW EXECUTE FUNCTION set_token_hash()`,
  ]),
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of TABLES) {
    await sql.raw(`DROP TRIGGER ${table}_token_hash ON ${table}`).execute(db);
    await sql.raw(`ALTER TABLE ${table} DROP COLUMN token_hash`).execute(db);
  }
  await sql.raw(`DROP FUNCTION set_token_hash()`).execute(db);
}
