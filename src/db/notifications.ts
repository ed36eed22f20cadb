// PostgreSQL LISTEN on one channel, kept alive across database faults: a lost connection (a restart,
// pg_terminate_backend, a failover) is re-established with a bounded backoff, never thrown. Each time
// it is established, a probe notification sent through the pool must come back on the listening
// connection; behind a pooler in transaction mode (PgBouncer) it never does — the LISTEN ran on a
// server connection that went back to the pool — so the listener says so once and leaves the caller
// to its polling, retrying rarely instead of spinning.
import { randomUUID } from 'node:crypto';
import type { Notification } from 'pg';
import { closeSessionConnection, type Database, openSessionConnection } from './connect.ts';
import type { Logger } from '../logger.ts';

export interface NotificationListenerOptions {
  db: Database;
  logger: Logger;
  /** An unquoted PostgreSQL identifier. */
  channel: string;
  /** A notification on the channel arrived (not a probe). */
  onNotification: () => void;
  /** Listening established (at start, again after a loss): anything announced before may have been missed. */
  onListening?: () => void;
}

export interface NotificationListener {
  close(): Promise<void>;
}

const PROBE_PREFIX = 'probe:';
/** How long a probe may take to come back before notifications are taken not to arrive. */
const PROBE_TIMEOUT_MS = 3000;
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 15_000;
/** Notifications did not arrive (a transaction pooler): how often to try again. */
const RETRY_UNDELIVERED_MS = 5 * 60_000;

type Connection = Awaited<ReturnType<typeof openSessionConnection>>;

export function listenForNotifications(options: NotificationListenerOptions): NotificationListener {
  const { db, logger, channel } = options;
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`not a channel name: ${channel}`);
  let current: Connection | undefined;
  let stopped = false;
  let failures = 0;
  let lostOnce = false;
  let warnedUndelivered = false;
  let timer: NodeJS.Timeout | undefined;
  let connecting: Promise<void> | undefined;
  let abandonProbe: () => void = () => {};

  function retryIn(ms: number): void {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(attempt, ms).unref();
  }

  function retryAfterFailure(): void {
    retryIn(Math.min(RETRY_FIRST_MS * 2 ** failures, RETRY_MAX_MS));
    failures += 1;
  }

  async function establish(): Promise<void> {
    let connection: Connection;
    try {
      connection = await openSessionConnection(db);
    } catch (error) {
      logger.debug({ err: error, channel }, 'could not open the notification connection; retrying');
      retryAfterFailure();
      return;
    }
    if (stopped) return closeSessionConnection(db, connection);
    const nonce = `${PROBE_PREFIX}${randomUUID()}`;
    let probeArrived: () => void = () => {};
    const probe = new Promise<boolean>((resolve) => {
      probeArrived = () => resolve(true);
      abandonProbe = () => resolve(false);
      setTimeout(abandonProbe, PROBE_TIMEOUT_MS).unref();
    });
    const onMessage = (message: Notification) => {
      if (message.channel !== channel) return;
      if (message.payload === nonce) probeArrived();
      else if (!message.payload?.startsWith(PROBE_PREFIX)) options.onNotification();
    };
    const onLost = (error?: Error) => {
      if (current !== connection) return;
      current = undefined;
      lostOnce = true;
      connection.off('notification', onMessage);
      connection.off('error', onLost);
      connection.off('end', onLost);
      void closeSessionConnection(db, connection);
      if (stopped) return;
      logger.warn({ channel, reason: error?.message }, 'database notifications lost; reconnecting (polling meanwhile)');
      retryAfterFailure();
    };
    current = connection;
    connection.on('notification', onMessage);
    connection.on('error', onLost);
    connection.on('end', onLost);
    try {
      await connection.query(`listen ${channel}`);
      // Through the pool, so through whatever sits between us and the database.
      await db.raw('select pg_notify(?, ?)', [channel, nonce]);
    } catch (error) {
      onLost(error as Error);
      return;
    }
    const arrived = await probe;
    if (stopped || current !== connection) return;
    if (!arrived) {
      current = undefined;
      connection.off('notification', onMessage);
      connection.off('error', onLost);
      connection.off('end', onLost);
      await closeSessionConnection(db, connection);
      if (!warnedUndelivered) {
        warnedUndelivered = true;
        logger.warn({ channel }, 'database notifications do not arrive (a pooler in transaction mode?); relying on polling');
      }
      retryIn(RETRY_UNDELIVERED_MS);
      return;
    }
    failures = 0;
    if (lostOnce) logger.info({ channel }, 'database notifications re-established');
    options.onListening?.();
  }

  function attempt(): void {
    connecting = establish()
      .catch((error: unknown) => {
        logger.error({ err: error, channel }, 'database notification listener failed; retrying');
        retryAfterFailure();
      })
      .finally(() => (connecting = undefined));
  }

  attempt();

  return {
    async close() {
      stopped = true;
      clearTimeout(timer);
      abandonProbe();
      await connecting;
      const connection = current;
      current = undefined;
      if (connection) {
        connection.removeAllListeners('notification');
        await closeSessionConnection(db, connection);
      }
    },
  };
}
