import { AsyncLocalStorage } from "node:async_hooks";

/**
 * What core may know about the request it serves: an id for logs and audit
 * rows, and who is acting. Nothing of HTTP: the handler wrapper fills it in.
 */
export interface RequestContext {
  requestId: string;
  userId: number | null;
}

const storage = new AsyncLocalStorage<RequestContext>();

export const Context = {
  /** Runs `fn` with `ctx` as the current request context. */
  run<T>(ctx: RequestContext, fn: () => T): T {
    return storage.run(ctx, fn);
  },
  /** The current request context, or null outside one (CLIs, cron setup, tests). */
  get(): RequestContext | null {
    return storage.getStore() ?? null;
  },
};
