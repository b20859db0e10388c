// Work the caller need not wait for (a log line, an audit write, a build) starts once the answer has gone
// out: the response is written in the microtasks that follow the procedure's return, and `setImmediate`
// runs after them. A log line is a synchronous write to a pipe; a query's first steps run on this event loop.

/** Resolves once the answer being given now has gone out. Work chained on it keeps its order. */
export function afterAnswer(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
