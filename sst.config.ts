/// <reference path="./.sst/platform/config.d.ts" />

/**
 * SST 4 wiring only: the resources live in infra/ (docs/deploy.md explains the
 * stages, secrets and the migration step). Stages: `production` from main,
 * `pr-<number>` per pull request, or a personal stage for `sst dev`.
 */
export default $config({
  app(input) {
    const production = input.stage === "production";
    return {
      name: "shopping-agent",
      // Production keeps its resources (log groups, anything stateful) even if removed
      // from the config; previews and personal stages clean up after themselves.
      removal: production ? "retain" : "remove",
      // `sst remove --stage production` refuses to run.
      protect: production,
      home: "aws",
    };
  },
  async run() {
    // Order is documentation only: each infra file imports what it depends on.
    await import("./infra/database.ts");
    const { migrator } = await import("./infra/migrations.ts");
    const { api } = await import("./infra/api.ts");
    await import("./infra/cron.ts");
    return {
      api: api.url,
      stage: $app.stage,
      migrator: migrator.name,
    };
  },
});
