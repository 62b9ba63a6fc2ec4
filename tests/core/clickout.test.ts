import { describe, expect, it } from "vitest";
import { handlerFor, HANDLERS } from "@shop/core/clickout";
import { HANDLER_CASES } from "../support/commerce-fixtures.ts";

describe("handlerFor", () => {
  it.each(HANDLER_CASES)("sends %s through %s", (url, handler) => {
    expect(handlerFor(url)).toBe(handler);
  });

  it("covers every handler in its table", () => {
    expect(new Set(HANDLER_CASES.map(([, handler]) => handler))).toEqual(new Set(HANDLERS));
  });

  it("treats an empty or host-less URL as direct", () => {
    for (const url of ["", "https://", "https:///path", "https://:443/"]) expect(handlerFor(url), url).toBe("direct");
  });
});
