/**
 * One nats-server's configuration, as text. nats-server reads JSON as its
 * own configuration syntax, so the text is JSON.stringify of an object:
 * nothing is quoted by hand, and the permissions are busPermissions()
 * verbatim — the same table the services publish and subscribe by.
 */
import { busPermissions, type BusIdentity } from '@zooid/protocol';
import { NATS_MAX_PAYLOAD } from './nats.js';

/** Where one nats-server listens and how the others and its clients reach it. */
export interface BusServer {
  /** `nats-1`: server_name, and the stem of its files. */
  name: string;
  /** The name clients and the other servers use for it; its certificate is valid for it. */
  host: string;
  /** The address it binds its client and route ports to. */
  listen: string;
  port: number;
  clusterPort: number;
  /** Its monitoring port (/varz, /routez, /healthz), always on a loopback address. */
  monitorPort: number;
}

export interface ServerConfInput {
  /** The subject prefix the permissions are written for; also the NATS cluster's name. */
  cluster: string;
  server: BusServer;
  /** Every server of the bus, this one included. */
  servers: BusServer[];
  users: { who: BusIdentity; publicKey: string }[];
  /** Paths as the server will find them. */
  files: { ca: string; cert: string; key: string; pid?: string };
}

/** Monitoring stays on loopback: the server's own loopback address, or 127.0.0.1 when it listens on all. */
export function monitorHost(s: BusServer): string {
  return s.listen === '0.0.0.0' ? '127.0.0.1' : s.listen;
}

export function routeUrl(s: BusServer): string {
  return `nats-route://${s.host}:${s.clusterPort}`;
}

export function clientUrl(s: BusServer): string {
  return `tls://${s.host}:${s.port}`;
}

export function serverConf(c: ServerConfInput): string {
  const { server, files } = c;
  const peers = c.servers.filter((s) => s.name !== server.name);
  const conf: Record<string, unknown> = {
    server_name: server.name,
    host: server.listen,
    port: server.port,
    // Gossiped to clients by the name their certificate holds, so a client can go back to a server it could not reach at first.
    client_advertise: `${server.host}:${server.port}`,
    http: `${monitorHost(server)}:${server.monitorPort}`,
    ...(files.pid ? { pid_file: files.pid } : {}),
    max_payload: NATS_MAX_PAYLOAD,
    // Clients prove who they are with their nkey; TLS keeps what they say private.
    tls: { cert_file: files.cert, key_file: files.key, timeout: 2 },
    authorization: {
      users: c.users.map((u) => ({ nkey: u.publicKey, permissions: busPermissions(c.cluster, u.who) })),
    },
  };
  if (peers.length > 0) {
    conf.cluster = {
      name: c.cluster,
      host: server.listen,
      port: server.clusterPort,
      routes: peers.map(routeUrl),
      // Routes authenticate by certificate: only a server whose certificate this CA signed may join.
      tls: { cert_file: files.cert, key_file: files.key, ca_file: files.ca, verify: true, timeout: 2 },
    };
  }
  return JSON.stringify(conf, null, 2) + '\n';
}
