import * as z from "zod";
import { PathId } from "@shop/core/ids";

/** Path parameter schemas shared by the routes that use them. */
export const RowPath = z.object({ row_id: PathId });
export const BidPath = z.object({ bid_id: PathId });
export const RowBidPath = z.object({ row_id: PathId, bid_id: PathId });
export const SellerPath = z.object({ seller_id: PathId });
export const TokenPath = z.object({ token: z.string().min(1).max(200) });
