// Whether an error means "the database cannot be reached right now" (down, restarting, refusing
// connections), as opposed to a bad query. Callers then get a clear SERVICE_UNAVAILABLE, not a hang or a 500.
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND',
  '57P01', '57P02', '57P03', // admin_shutdown, crash_shutdown, cannot_connect_now
  '08000', '08001', '08003', '08004', '08006', // connection exceptions
  'P1001', 'P1002', 'P1017', // Prisma: cannot reach, timed out, server closed the connection
]);
const CONNECTION_MESSAGES = /Connection terminated|Server has closed the connection|Connection refused|connection is closed|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (shutting down|starting up)|terminating connection due to administrator command|Can't reach database server/i;

export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err as { cause?: unknown; code?: unknown; message?: unknown } | undefined, depth = 0; e && typeof e === 'object' && depth < 8; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && CONNECTION_CODES.has(e.code)) return true;
    if (typeof e.message === 'string' && CONNECTION_MESSAGES.test(e.message)) return true;
    const original = (e as { meta?: { driverAdapterError?: unknown } }).meta?.driverAdapterError;
    if (original && isDatabaseUnavailable(original)) return true;
  }
  return false;
}
