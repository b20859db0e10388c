/** A command given wrongly (exit code 2, with the usage): nothing was asked of the hub. */
export class UsageError extends Error {}
