import { parseConfig, type Config, type DatabaseConfig } from "@shop/core/config";

/** The configuration of a test process: defaults, as `NODE_ENV=test` with nothing else set. */
export const testConfig: Config = parseConfig({ NODE_ENV: "test" });

/** Database settings for tests: short timeouts so failures show quickly, overridable per test. */
export function testSettings(overrides: Partial<DatabaseConfig> = {}): DatabaseConfig {
  return {
    ...testConfig.database,
    poolTimeoutMs: 10_000,
    echo: false,
    slowQueryLogging: false,
    ...overrides,
  };
}
