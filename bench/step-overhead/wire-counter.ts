/**
 * A TCP proxy between PostgreSQL clients and the server that counts, from the wire protocol,
 * what any client library sends: round trips, statements and committed transactions. It
 * forwards bytes unchanged and only reads the message framing, so it works for every
 * contender alike (it adds a hop to each round trip: time is measured without it).
 */
import { createConnection, createServer, type Socket } from 'node:net';

/** Totals over all connections since the proxy started. */
export interface WireCounts {
  connections: number;
  /**
   * Flights of client messages that end in Sync or Query and are sent while no answer is
   * outstanding (a client that pipelines several is counted once, as it waits once).
   */
  roundTrips: number;
  /** Statements the server completed (CommandComplete messages). */
  statements: number;
  /**
   * Transactions committed: COMMITs, and implicit transactions (a Sync or Query in autocommit
   * that completed a statement without error), read-only ones included, as pg_stat_database counts.
   */
  commits: number;
}

/** A running proxy: clients connect to 127.0.0.1:`port`. */
export interface WireCounter {
  readonly port: number;
  counts(): WireCounts;
  /** Connections whose server side is still open. */
  openConnections(): number;
  close(): Promise<void>;
}

const sslRequestCode = 80877103;
const gssRequestCode = 80877104;
const cancelRequestCode = 80877102;
const transactionControl = new Set([
  'BEGIN',
  'COMMIT',
  'ROLLBACK',
  'START TRANSACTION',
  'SAVEPOINT',
  'RELEASE',
]);

/** Reads length-prefixed messages from a byte stream, typed (a type byte first) or not. */
class MessageReader {
  private buffered: Buffer = Buffer.alloc(0);
  /** Bytes still to skip before the next message (one-byte answers to SSL and GSS requests). */
  skip = 0;
  typed: boolean;

  constructor(
    typed: boolean,
    private readonly onMessage: (type: number, body: Buffer) => void,
  ) {
    this.typed = typed;
  }

  push(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    let offset = 0;
    for (;;) {
      if (this.skip > 0) {
        const skipped = Math.min(this.skip, this.buffered.length - offset);
        this.skip -= skipped;
        offset += skipped;
        if (this.skip > 0) break;
      }
      const header = this.typed ? 5 : 4;
      if (this.buffered.length - offset < header) break;
      const length = this.buffered.readInt32BE(offset + header - 4);
      const total = length + header - 4;
      if (this.buffered.length - offset < total) break;
      const type = this.typed ? this.buffered[offset]! : 0;
      this.onMessage(type, this.buffered.subarray(offset + header, offset + total));
      offset += total;
    }
    this.buffered = this.buffered.subarray(offset);
  }
}

/** Starts a counting proxy to the PostgreSQL server at `target`. */
export function startWireCounter(target: { host: string; port: number }): Promise<WireCounter> {
  const totals: WireCounts = { connections: 0, roundTrips: 0, statements: 0, commits: 0 };
  const sockets = new Set<Socket>();
  let open = 0;

  const relay = (client: Socket): void => {
    totals.connections += 1;
    open += 1;
    const server = createConnection(target);
    sockets.add(client);
    sockets.add(server);
    // Per connection: requests awaiting ReadyForQuery, and what happened since the last one.
    let outstanding = 0;
    let status = 'I';
    let completed = 0;
    let failed = false;
    let controlled = false;

    const fromServer = new MessageReader(true, (type, body) => {
      if (type === 0x43 /* C: CommandComplete */) {
        totals.statements += 1;
        completed += 1;
        const tag = body.toString('utf8', 0, Math.max(0, body.length - 1));
        if (transactionControl.has(tag)) controlled = true;
        if (tag === 'COMMIT') totals.commits += 1;
      } else if (type === 0x45 /* E: ErrorResponse */) {
        failed = true;
      } else if (type === 0x5a /* Z: ReadyForQuery */) {
        outstanding = Math.max(0, outstanding - 1);
        const next = String.fromCharCode(body[0] ?? 0x49);
        if (status === 'I' && next === 'I' && completed > 0 && !failed && !controlled) totals.commits += 1;
        status = next;
        completed = 0;
        failed = false;
        controlled = false;
      }
    });
    const fromClient = new MessageReader(false, (type, body) => {
      if (!fromClient.typed) {
        const code = body.readInt32BE(0);
        if (code === sslRequestCode || code === gssRequestCode) {
          fromServer.skip += 1; // the server answers with one untyped byte; 'N' keeps plain text
        } else if (code !== cancelRequestCode) {
          fromClient.typed = true;
          outstanding = 1; // the server's first ReadyForQuery ends the start-up
        }
        return;
      }
      if (
        type === 0x53 /* S: Sync */ ||
        type === 0x51 /* Q: Query */ ||
        type === 0x46 /* F: FunctionCall */
      ) {
        if (outstanding === 0) totals.roundTrips += 1;
        outstanding += 1;
      }
    });

    client.on('data', (chunk: Buffer) => {
      fromClient.push(chunk);
      if (!server.write(chunk)) client.pause();
    });
    server.on('drain', () => client.resume());
    server.on('data', (chunk: Buffer) => {
      fromServer.push(chunk);
      if (!client.write(chunk)) server.pause();
    });
    client.on('drain', () => server.resume());
    client.on('close', () => server.end());
    server.on('close', () => {
      open -= 1;
      client.end();
      sockets.delete(client);
      sockets.delete(server);
    });
    client.on('error', () => server.destroy());
    server.on('error', () => client.destroy());
  };

  const proxy = createServer(relay);
  return new Promise((resolve, reject) => {
    proxy.once('error', reject);
    proxy.listen(0, '127.0.0.1', () => {
      const address = proxy.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('the wire counter has no TCP port'));
        return;
      }
      resolve({
        port: address.port,
        counts: () => ({ ...totals }),
        openConnections: () => open,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            proxy.close(() => done());
          }),
      });
    });
  });
}
