import { describe, expect, it } from "vitest";
import * as z from "zod";
import { safeJsonDumps, safeJsonLoads } from "@shop/core/json";
import { captureLogs } from "../support/logs.ts";

const logs = captureLogs();

describe("safeJsonLoads", () => {
  it("parses valid JSON", () => {
    expect(safeJsonLoads('["fast shipping",{"max_price":50}]', { default: [], field: "choice_factors" })).toEqual([
      "fast shipping",
      { max_price: 50 },
    ]);
    expect(logs).toEqual([]);
  });

  it("returns the default for null, undefined and empty text without a warning", () => {
    for (const value of [null, undefined, "", "   "]) {
      expect(safeJsonLoads(value, { default: [], field: "choice_factors" })).toEqual([]);
    }
    expect(logs).toEqual([]);
  });

  it("returns the default and warns with the field name on corrupt JSON, never throwing", () => {
    expect(safeJsonLoads("{not json", { default: ["x"], field: "chat_history" })).toEqual(["x"]);
    expect(logs).toHaveLength(1);
    expect(logs[0]!.level).toBe("warn");
    expect(logs[0]!.entry).toMatchObject({ field: "chat_history", length: 9 });
    expect(String(logs[0]!.entry.reason)).toMatch(/JSON/);
  });

  it("returns the default when the JSON has the wrong shape for its schema", () => {
    const schema = z.array(z.string());
    expect(safeJsonLoads('{"a":1}', { default: [], field: "choice_factors", schema })).toEqual([]);
    expect(safeJsonLoads('["a","b"]', { default: [], field: "choice_factors", schema })).toEqual(["a", "b"]);
    expect(logs).toHaveLength(1);
    expect(logs[0]!.entry).toMatchObject({ field: "choice_factors" });
  });

  it("does not echo the stored value into the log", () => {
    safeJsonLoads('{"secret":"hunter2"', { default: null, field: "payload" });
    expect(JSON.stringify(logs)).not.toContain("hunter2");
  });
});

describe("safeJsonDumps", () => {
  it("serializes values", () => {
    expect(safeJsonDumps(["a", { b: 1 }], { field: "choice_factors" })).toBe('["a",{"b":1}]');
    expect(safeJsonDumps(null, { field: "details" })).toBe("null");
  });

  it("stores the default and warns with the field name when a value cannot be serialized", () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(safeJsonDumps(circular, { field: "payload", default: "{}" })).toBe("{}");
    expect(safeJsonDumps(10n, { field: "details" })).toBe("null");
    expect(safeJsonDumps(undefined, { field: "chat_history", default: "[]" })).toBe("[]");
    expect(logs.map((l) => l.entry.field)).toEqual(["payload", "details", "chat_history"]);
    expect(logs.every((l) => l.level === "warn")).toBe(true);
  });

  it("round-trips through safeJsonLoads", () => {
    const value = { steps: [{ role: "user", content: "find a \u00e9clair \u2615" }] };
    expect(safeJsonLoads(safeJsonDumps(value, { field: "chat_history" }), { default: {}, field: "chat_history" })).toEqual(
      value,
    );
  });
});
