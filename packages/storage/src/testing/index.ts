/**
 * `@ngpipe/storage/testing`: loopback servers for testing code that talks to
 * the clouds, without the clouds. Not part of the main entry point.
 *
 * - {@link GcsLoopbackServer}: an in-memory GCS JSON API server for the real
 *   `@google-cloud/storage` client.
 * - {@link FaultProxy}: an HTTP proxy (e.g. in front of moto) that injects
 *   503s, dropped connections, corrupt bodies, 403s or latency.
 * - {@link StaticFileServer}: serves a directory over HTTP (for http(s):// layers).
 * - {@link FaultInjector}, {@link FaultPlan}: the seeded fault draws both servers use.
 */
export {
  FaultProxy,
  type ProxyRequestRecord,
} from "./fault-proxy";
export {
  corruptBytes,
  type Fault,
  type FaultCounts,
  FaultInjector,
  type FaultPlan,
} from "./faults";
export {
  GcsLoopbackServer,
  type GcsRequestRecord,
  type GcsStoredObject,
} from "./gcs-server";
export {
  StaticFileServer,
  type StaticServerIntercept,
} from "./static-server";
