import type { Selectable } from "kysely";
import * as z from "zod";
import { Database } from "../db/index.ts";
import type { UserSignalTable } from "../db/types.ts";
import { iso } from "../ids.ts";
import { boundedJson, safeJsonDumps, safeJsonLoads } from "../json.ts";
import { cursorText, keysetPage, PageQuery, toPage, type Page } from "../pagination.ts";

/**
 * User signals: small facts the agent learns about a shopper (a preferred
 * brand, a budget hint), each a type and a JSON payload.
 */

const SignalType = z.string().trim().min(1, "must not be empty").max(100);

/** Up to 100 in a list page: 16 KiB each. */
const Payload = boundedJson(z.unknown(), 16 * 1024);

/** A signal as the API shows it, the payload parsed. */
export const Info = z.object({
  id: z.number(),
  user_id: z.number(),
  signal_type: z.string(),
  payload: z.unknown(),
  created_at: z.string(),
});
export type Info = z.infer<typeof Info>;

export const CreateInput = z.strictObject({
  signal_type: SignalType,
  payload: Payload.optional(),
});
export type CreateInput = z.infer<typeof CreateInput>;

export const ListQuery = PageQuery.extend({ signal_type: SignalType.optional() });
export type ListQuery = z.infer<typeof ListQuery>;

function toInfo(row: Selectable<UserSignalTable>): Info {
  return {
    id: row.id,
    user_id: row.user_id,
    signal_type: row.signal_type,
    payload: safeJsonLoads<unknown>(row.payload, { default: {}, field: "payload", schema: Payload }),
    created_at: iso(row.created_at),
  };
}

const COLUMNS = [
  "user_signal.id",
  "user_signal.user_id",
  "user_signal.signal_type",
  "user_signal.payload",
  "user_signal.created_at",
] as const;

/** Records a signal for the caller; an absent payload is {} (an explicit null stays null). */
export async function create(userId: number, input: CreateInput): Promise<Info> {
  return Database.use(async (db) => {
    const row = await db
      .insertInto("user_signal")
      .values({
        user_id: userId,
        signal_type: input.signal_type,
        payload: safeJsonDumps(input.payload === undefined ? {} : input.payload, { field: "payload", default: "{}" }),
      })
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
    return toInfo(row);
  });
}

/** The caller's signals, newest first, optionally of one type; one query. */
export async function list(userId: number, query: ListQuery): Promise<Page<Info>> {
  return Database.use(async (db) => {
    const rows = await db
      .selectFrom("user_signal")
      .select(COLUMNS)
      .select((eb) => cursorText(eb.ref("user_signal.created_at")).as("cursor_t"))
      .where("user_signal.user_id", "=", userId)
      .$if(query.signal_type !== undefined, (qb) => qb.where("user_signal.signal_type", "=", query.signal_type!))
      .$call((qb) => keysetPage(qb, "user_signal", query))
      .execute();
    return toPage(rows, query.limit, toInfo);
  });
}
