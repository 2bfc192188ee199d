import { createHash, randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { PermissionDeniedError, PreconditionFailedError, TransientError } from "./errors";
import { GcsBackend } from "./gcs";
import { GcsLoopbackServer } from "./testing/gcs-server";

let server: GcsLoopbackServer;
let backend: GcsBackend;

beforeAll(async () => {
  server = await GcsLoopbackServer.start();
  backend = new GcsBackend(
    { bucket: "bkt", prefix: "root/dir" },
    { endpoint: server.endpoint, multipartThreshold: 300 * 1024, credentials: {} },
  );
});

afterAll(async () => {
  await server.stop();
});

beforeEach(() => {
  server.faults.setPlan({});
  server.clearRequests();
});

test("put then get round-trips bytes under the root prefix, with generation as version", async () => {
  const data = randomBytes(1000);
  const put = await backend.put("a/one.bin", data, { contentType: "application/x-test" });
  const stored = server.getObject("bkt", "root/dir/a/one.bin");
  expect(stored).toBeDefined();
  expect(Buffer.from(stored!.data)).toEqual(data);
  expect(put.version).toBe(String(stored!.generation));
  const got = await backend.get("a/one.bin");
  expect(Buffer.from(got!.data)).toEqual(data);
  expect(got!.info.size).toBe(1000);
  expect(got!.info.version).toBe(put.version);
  expect(got!.info.contentType).toBe("application/x-test");
  expect(got!.info.md5).toBe(createHash("md5").update(data).digest("hex"));
});

test("keys with spaces, unicode and URL metacharacters round-trip and list", async () => {
  const key = "odd dir/ü+%#?&=.bin";
  await backend.put(key, Buffer.from("odd"));
  expect(Buffer.from((await backend.get(key))!.data).toString()).toBe("odd");
  expect((await backend.head(key))!.size).toBe(3);
  const listed: string[] = [];
  for await (const k of backend.list("odd dir/")) listed.push(k);
  expect(listed).toEqual([key]);
  await backend.delete(key);
  expect(await backend.head(key)).toBeNull();
});

test("get of a missing key is null, head too", async () => {
  expect(await backend.get("nope")).toBeNull();
  expect(await backend.head("nope")).toBeNull();
});

test("contentEncoding is stored as metadata and get returns the stored (compressed) bytes", async () => {
  const raw = Buffer.from("hello hello hello hello".repeat(20));
  const gz = gzipSync(raw);
  await backend.put("enc.gz", gz, { contentEncoding: "gzip" });
  expect(server.getObject("bkt", "root/dir/enc.gz")!.contentEncoding).toBe("gzip");
  const got = await backend.get("enc.gz");
  expect(Buffer.from(got!.data)).toEqual(gz);
  expect(got!.info.contentEncoding).toBe("gzip");
  const head = await backend.head("enc.gz");
  expect(head!.contentEncoding).toBe("gzip");
  expect(head!.size).toBe(gz.length);
});

test("byte ranges return the requested slice and the full object size", async () => {
  const data = randomBytes(5000);
  await backend.put("ranged", data);
  const mid = await backend.get("ranged", { range: { start: 100, end: 1100 } });
  expect(Buffer.from(mid!.data)).toEqual(data.subarray(100, 1100));
  expect(mid!.info.size).toBe(5000);
  const tail = await backend.get("ranged", { range: { start: 4990 } });
  expect(Buffer.from(tail!.data)).toEqual(data.subarray(4990));
});

test("ifAbsent writes once, then fails with PreconditionFailedError", async () => {
  await backend.put("once", Buffer.from("first"), { ifAbsent: true });
  await expect(
    backend.put("once", Buffer.from("second"), { ifAbsent: true }),
  ).rejects.toBeInstanceOf(PreconditionFailedError);
  expect(Buffer.from((await backend.get("once"))!.data).toString()).toBe("first");
});

test("20 concurrent ifAbsent writers on one key: exactly one wins", async () => {
  const results = await Promise.allSettled(
    Array.from({ length: 20 }, (_, i) =>
      backend.put("race", Buffer.from(`writer ${i}`), { ifAbsent: true }),
    ),
  );
  const winners = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
  expect(winners.length).toBe(1);
  for (const r of results) {
    if (r.status === "rejected") expect(r.reason).toBeInstanceOf(PreconditionFailedError);
  }
  const stored = Buffer.from((await backend.get("race"))!.data).toString();
  expect(stored).toBe(`writer ${winners[0]}`);
});

test("ifVersion writes only over the given generation", async () => {
  const v1 = await backend.put("versioned", Buffer.from("v1"));
  const v2 = await backend.put("versioned", Buffer.from("v2"), { ifVersion: v1.version });
  expect(v2.version).not.toBe(v1.version);
  await expect(
    backend.put("versioned", Buffer.from("v3"), { ifVersion: v1.version }),
  ).rejects.toBeInstanceOf(PreconditionFailedError);
  expect(Buffer.from((await backend.get("versioned"))!.data).toString()).toBe("v2");
});

test("uploads at or above the threshold go through a chunked resumable session", async () => {
  const data = randomBytes(700 * 1024);
  await backend.put("big.bin", data, { ifAbsent: true, contentEncoding: "br", contentType: "x/y" });
  expect(server.getObject("bkt", "root/dir/big.bin")).toMatchObject({
    contentEncoding: "br",
    contentType: "x/y",
  });
  const kinds = server.requests.filter((r) => r.kind === "resumable");
  // initiate + 3 chunks of 256 KiB (the last one short)
  expect(kinds.length).toBe(4);
  expect(Buffer.from((await backend.get("big.bin"))!.data)).toEqual(data);
  await expect(backend.put("big.bin", data, { ifAbsent: true })).rejects.toBeInstanceOf(
    PreconditionFailedError,
  );
});

test("list returns direct children with dir/ prefixes, or everything recursively, sorted", async () => {
  const keys = ["ls/b", "ls/a", "ls/sub/x", "ls/sub/y", "ls/sub/deeper/z", "lsx"];
  for (const k of keys) await backend.put(k, Buffer.from(k));
  const direct: string[] = [];
  for await (const k of backend.list("ls/")) direct.push(k);
  expect(direct).toEqual(["ls/a", "ls/b", "ls/sub/"]);
  const all: string[] = [];
  for await (const k of backend.list("ls", { recursive: true })) all.push(k);
  expect(all).toEqual(["ls/a", "ls/b", "ls/sub/deeper/z", "ls/sub/x", "ls/sub/y", "lsx"]);
});

test("list follows page tokens across more than one page", async () => {
  const n = 1005;
  const other = new GcsBackend({ bucket: "paged", prefix: "" }, { endpoint: server.endpoint });
  for (let i = 0; i < n; i++)
    server.putObject("paged", `k${String(i).padStart(5, "0")}`, Buffer.from("x"));
  const seen: string[] = [];
  for await (const k of other.list("", { recursive: true })) seen.push(k);
  expect(seen.length).toBe(n);
  expect(seen[0]).toBe("k00000");
  expect(seen[n - 1]).toBe(`k${String(n - 1).padStart(5, "0")}`);
  expect(server.requests.filter((r) => r.kind === "list").length).toBe(2);
});

test("delete removes the object; deleting a missing key is fine", async () => {
  await backend.put("gone", Buffer.from("x"));
  await backend.delete("gone");
  expect(server.getObject("bkt", "root/dir/gone")).toBeUndefined();
  await expect(backend.delete("gone")).resolves.toBeUndefined();
});

test("copyWithin rewrites server-side into another gs:// root", async () => {
  const dst = new GcsBackend({ bucket: "other", prefix: "p" }, { endpoint: server.endpoint });
  const gz = gzipSync(Buffer.from("copy me"));
  await backend.put("src", gz, { contentEncoding: "gzip" });
  server.clearRequests();
  await backend.copyWithin("src", dst, "dst");
  expect(server.requests.map((r) => r.kind)).toEqual(["copy"]);
  const got = await dst.get("dst");
  expect(Buffer.from(got!.data)).toEqual(gz);
  expect(got!.info.contentEncoding).toBe("gzip");
});

test("copyWithin to another service copies the stored bytes through the process", async () => {
  const second = await GcsLoopbackServer.start();
  try {
    const dst = new GcsBackend({ bucket: "far", prefix: "" }, { endpoint: second.endpoint });
    const gz = gzipSync(Buffer.from("far away"));
    await backend.put("src2", gz, { contentEncoding: "gzip", contentType: "text/plain" });
    await backend.copyWithin("src2", dst, "dst2");
    const stored = second.getObject("far", "dst2");
    expect(Buffer.from(stored!.data)).toEqual(gz);
    expect(stored!.contentEncoding).toBe("gzip");
    expect(stored!.contentType).toBe("text/plain");
  } finally {
    await second.stop();
  }
});

test("a corrupted download is an IntegrityError naming url and key", async () => {
  await backend.put("corrupt-me", randomBytes(2048));
  server.faults.setPlan({ corrupt: 1 });
  await expect(backend.get("corrupt-me")).rejects.toMatchObject({
    name: "IntegrityError",
    key: "corrupt-me",
    message: expect.stringContaining("gs://bkt/root/dir/corrupt-me"),
  });
});

test("503 and dropped connections are TransientError, 403 is PermissionDeniedError", async () => {
  await backend.put("k", Buffer.from("x"));
  server.faults.setPlan({ unavailable: 1 });
  await expect(backend.get("k")).rejects.toMatchObject({ name: "TransientError", status: 503 });
  await expect(backend.put("k", Buffer.from("y"))).rejects.toBeInstanceOf(TransientError);
  server.faults.setPlan({ drop: 1 });
  await expect(backend.get("k")).rejects.toBeInstanceOf(TransientError);
  await expect(backend.head("k")).rejects.toBeInstanceOf(TransientError);
  server.faults.setPlan({ forbidden: ["root/dir/k"] });
  const err = await backend.get("k").catch((e) => e);
  expect(err).toBeInstanceOf(PermissionDeniedError);
  expect(err.message).toContain("gs://bkt/root/dir/k");
});

test("an aborted get rejects with the abort reason", async () => {
  await backend.put("abort", Buffer.from("x"));
  const ctl = new AbortController();
  ctl.abort(new Error("stop"));
  await expect(backend.get("abort", { signal: ctl.signal })).rejects.toThrow("stop");
});

test("an endpoint written in a gs:// URL is used, and wins over the endpoint option", async () => {
  const { openStorage } = await import("./open");
  const url = `gs://${server.endpoint}/bkt/in-url`;
  // The option points nowhere (port 9): only the URL's endpoint can answer.
  const st = openStorage(url, { endpoint: "http://127.0.0.1:9", credentials: {}, retries: 0 });
  expect(st.url).toBe(url);
  await st.put("k", new TextEncoder().encode("here"));
  expect(server.requests.some((r) => r.key === "in-url/k")).toBe(true);
  const again = openStorage(url, { credentials: {} });
  expect(new TextDecoder().decode((await again.get("k")) ?? new Uint8Array())).toBe("here");
});
