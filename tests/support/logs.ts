import { afterEach, beforeEach } from "vitest";
import { setLogSink, type LogLevel } from "@shop/core/log";

export interface CapturedLine {
  level: LogLevel;
  entry: Record<string, unknown>;
}

/**
 * Captures structured log lines during each test of the calling file. Call at
 * file level; the returned array is emptied before every test.
 */
export function captureLogs(): CapturedLine[] {
  const lines: CapturedLine[] = [];
  let restore: (() => void) | null = null;
  beforeEach(() => {
    lines.length = 0;
    restore = setLogSink((level, line) => {
      lines.push({ level, entry: JSON.parse(line) as Record<string, unknown> });
    });
  });
  afterEach(() => {
    restore?.();
    restore = null;
  });
  return lines;
}

/** The query count the handler wrapper logged for the last request among `lines`. */
export function lastQueryCount(lines: CapturedLine[]): number {
  const line = lines.filter((l) => l.entry.msg === "request").at(-1);
  return line?.entry.queries as number;
}
