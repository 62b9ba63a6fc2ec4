/** Values the global setup hands to every test file (vitest `provide` / `inject`). */
declare module "vitest" {
  export interface ProvidedContext {
    /** A dump of a fresh, empty PGlite data directory. */
    pgliteEmptyDump: string;
    /** A dump of a PGlite data directory with every migration applied. */
    pgliteMigratedDump: string;
    /** TEST_DATABASE_URL, or "" when no server is configured. */
    serverUrl: string;
    /** A migrated database on the server to copy per test ("" without a server). */
    serverTemplate: string;
    /** Prefix of every database this run creates on the server. */
    runPrefix: string;
  }
}

export {};
