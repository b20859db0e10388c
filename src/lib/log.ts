// Structured JSON logs through pino, one object per line on stdout. Fields such as operationId ride on every
// line of the work they belong to (`log.child({ operationId })`). An error passed as `err` keeps its stack and
// its causes. Tokens are never passed to the logger.
import pino from 'pino';
import { processSingleton } from './process-singleton';

type Fields = Record<string, unknown>;

export type Logger = {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
};

function createRoot(): pino.Logger {
  // Written asynchronously (pino flushes what is left when the process exits): a log line must not stop the
  // event loop that is answering a call.
  const destination = pino.destination({ dest: 1, sync: false });
  // Whoever read our output is gone (a closed pipe): exit rather than fail to log forever.
  destination.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(1);
  });
  return pino(
    {
      level: process.env.LOG_LEVEL ?? 'info',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.errWithCause },
    },
    destination,
  );
}

/** Our Logger over a pino logger made on first use, so LOG_LEVEL is read after the .env file is loaded. */
function lazy(make: () => pino.Logger): Logger {
  let instance: pino.Logger | undefined;
  const p = () => (instance ??= make());
  return {
    debug: (msg, fields) => p().debug(fields ?? {}, msg),
    info: (msg, fields) => p().info(fields ?? {}, msg),
    warn: (msg, fields) => p().warn(fields ?? {}, msg),
    error: (msg, fields) => p().error(fields ?? {}, msg),
    child: (fields) => lazy(() => p().child(fields)),
  };
}

export const log: Logger = lazy(() => processSingleton('pino', createRoot));

/** An error's message, with the messages of its causes ("fetch failed: connect ECONNREFUSED …"). */
export function errorMessage(err: unknown): string {
  const parts: string[] = [];
  for (let e = err as { message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    const message = e instanceof Error || typeof e.message === 'string' ? String(e.message) : String(e);
    if (message && !parts.includes(message)) parts.push(message);
    if (typeof e !== 'object') break;
  }
  return parts.join(': ') || String(err);
}
