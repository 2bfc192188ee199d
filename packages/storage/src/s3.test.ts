import { createHash, randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { useMoto } from "../../../test/support/moto";
import { PermissionDeniedError, PreconditionFailedError, TransientError } from "./errors";
import { openStorage } from "./open";
import { S3Backend } from "./s3";
import { FaultProxy } from "./testing/fault-proxy";

const moto = useMoto();
const maybe = moto.available ? describe : describe.skip;

maybe("S3Backend against moto", () => {
  let backend: S3Backend;
  let proxy: FaultProxy;
  let faulty: S3Backend;

  beforeAll(async () => {
    const admin = new S3Client({
      endpoint: moto.endpoint,
      forcePathStyle: true,
      region: "us-east-1",
    });
    await admin.send(new CreateBucketCommand({ Bucket: "bkt" }));
    await admin.send(new CreateBucketCommand({ Bucket: "other" }));
    admin.destroy();
    backend = new S3Backend(
      { bucket: "bkt", prefix: "root/dir" },
      { endpoint: moto.endpoint, multipartThreshold: 5 * 1024 * 1024 },
    );
    proxy = await FaultProxy.start(moto.endpoint);
    faulty = new S3Backend({ bucket: "bkt", prefix: "root/dir" }, { endpoint: proxy.endpoint });
  });

  afterAll(async () => {
    await backend?.close();
    await faulty?.close();
    await proxy?.stop();
  });

  beforeEach(() => {
    proxy.faults.setPlan({});
    proxy.clearRequests();
  });

  test("put then get round-trips bytes, with the ETag as version and MD5", async () => {
    const data = randomBytes(3000);
    const put = await backend.put("a/one.bin", data, { contentType: "application/x-test" });
    const got = await backend.get("a/one.bin");
    expect(Buffer.from(got!.data)).toEqual(data);
    expect(got!.info.size).toBe(3000);
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

  test("get and head of a missing key are null", async () => {
    expect(await backend.get("missing")).toBeNull();
    expect(await backend.head("missing")).toBeNull();
  });

  test("Content-Encoding is stored and get returns the stored compressed bytes", async () => {
    const gz = gzipSync(Buffer.from("abc ".repeat(500)));
    await backend.put("enc", gz, { contentEncoding: "gzip", cacheControl: "no-cache" });
    const got = await backend.get("enc");
    expect(Buffer.from(got!.data)).toEqual(gz);
    expect(got!.info.contentEncoding).toBe("gzip");
    const head = await backend.head("enc");
    expect(head).toMatchObject({
      size: gz.length,
      contentEncoding: "gzip",
      cacheControl: "no-cache",
    });
  });

  test("byte ranges return the slice and the whole object's size", async () => {
    const data = randomBytes(4096);
    await backend.put("ranged", data);
    const got = await backend.get("ranged", { range: { start: 10, end: 2000 } });
    expect(Buffer.from(got!.data)).toEqual(data.subarray(10, 2000));
    expect(got!.info.size).toBe(4096);
    const tail = await backend.get("ranged", { range: { start: 4000 } });
    expect(Buffer.from(tail!.data)).toEqual(data.subarray(4000));
  });

  test("ifAbsent: the second write fails with PreconditionFailedError", async () => {
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

  test("ifVersion writes only over the given ETag, and fails on a missing object", async () => {
    const v1 = await backend.put("versioned", Buffer.from("v1"));
    await backend.put("versioned", Buffer.from("v2"), { ifVersion: v1.version });
    await expect(
      backend.put("versioned", Buffer.from("v3"), { ifVersion: v1.version }),
    ).rejects.toBeInstanceOf(PreconditionFailedError);
    await expect(
      backend.put("never-written", Buffer.from("x"), { ifVersion: v1.version }),
    ).rejects.toBeInstanceOf(PreconditionFailedError);
    expect(Buffer.from((await backend.get("versioned"))!.data).toString()).toBe("v2");
  });

  test("puts at or above the threshold are multipart uploads and round-trip", async () => {
    const data = randomBytes(11 * 1024 * 1024);
    const put = await backend.put("big.bin", data);
    expect(put.version).toMatch(/-3"$/); // multipart ETag: md5-of-md5s dash part count
    const got = await backend.get("big.bin");
    expect(got!.data.length).toBe(data.length);
    expect(Buffer.from(got!.data).equals(data)).toBe(true);
    expect(got!.info.md5).toBeUndefined();
    // the condition rides on the completing request of a multipart upload
    await expect(backend.put("big.bin", data, { ifAbsent: true })).rejects.toBeInstanceOf(
      PreconditionFailedError,
    );
  });

  test("list returns direct children with dir/ prefixes, or everything recursively", async () => {
    for (const k of ["ls/b", "ls/a", "ls/sub/x", "ls/sub/deeper/z", "lsx"]) {
      await backend.put(k, Buffer.from(k));
    }
    const direct: string[] = [];
    for await (const k of backend.list("ls/")) direct.push(k);
    expect(direct).toEqual(["ls/a", "ls/b", "ls/sub/"]);
    const all: string[] = [];
    for await (const k of backend.list("ls", { recursive: true })) all.push(k);
    expect(all).toEqual(["ls/a", "ls/b", "ls/sub/deeper/z", "ls/sub/x", "lsx"]);
  });

  test("delete removes the object; deleting a missing key is fine", async () => {
    await backend.put("gone", Buffer.from("x"));
    await backend.delete("gone");
    expect(await backend.head("gone")).toBeNull();
    await expect(backend.delete("gone")).resolves.toBeUndefined();
  });

  test("copyWithin copies server-side, keeping Content-Encoding", async () => {
    const dst = new S3Backend({ bucket: "other", prefix: "" }, { endpoint: moto.endpoint });
    const gz = gzipSync(Buffer.from("copy me"));
    await backend.put("src", gz, { contentEncoding: "gzip" });
    await backend.copyWithin("src", dst, "p/dst");
    const got = await dst.get("p/dst");
    expect(Buffer.from(got!.data)).toEqual(gz);
    expect(got!.info.contentEncoding).toBe("gzip");
    await dst.close();
  });

  test("an endpoint inside the URL is used and kept in the storage URL", async () => {
    const url = `s3://${moto.endpoint}/bkt/in-url`;
    const storage = openStorage(url);
    expect(storage.url).toBe(url);
    await storage.put("k", "via url");
    const root = new S3Backend({ bucket: "bkt", prefix: "" }, { endpoint: moto.endpoint });
    expect(Buffer.from((await root.get("in-url/k"))!.data).toString()).toBe("via url");
    await root.close();
    await storage.backend.close?.();
  });

  test("SSE-KMS objects report no MD5 (their ETag is not one) and are not checked", async () => {
    const admin = new S3Client({
      endpoint: moto.endpoint,
      forcePathStyle: true,
      region: "us-east-1",
    });
    await admin.send(
      new PutObjectCommand({
        Bucket: "bkt",
        Key: "root/dir/kms",
        Body: Buffer.from("sealed"),
        ServerSideEncryption: "aws:kms",
      }),
    );
    admin.destroy();
    const got = await backend.get("kms");
    expect(Buffer.from(got!.data).toString()).toBe("sealed");
    expect(got!.info.md5).toBeUndefined();
    expect((await backend.head("kms"))!.md5).toBeUndefined();
  });

  test("a corrupted download is an IntegrityError", async () => {
    await backend.put("corrupt-me", randomBytes(2048));
    proxy.faults.setPlan({ corrupt: 1 });
    await expect(faulty.get("corrupt-me")).rejects.toMatchObject({
      name: "IntegrityError",
      key: "corrupt-me",
      message: expect.stringContaining("s3://bkt/root/dir/corrupt-me"),
    });
  });

  test("503 and dropped connections are TransientError, 403 is PermissionDeniedError", async () => {
    await backend.put("k", Buffer.from("x"));
    proxy.faults.setPlan({ unavailable: 1 });
    await expect(faulty.get("k")).rejects.toMatchObject({ name: "TransientError", status: 503 });
    await expect(faulty.put("k", Buffer.from("y"))).rejects.toBeInstanceOf(TransientError);
    proxy.faults.setPlan({ drop: 1 });
    await expect(faulty.get("k")).rejects.toBeInstanceOf(TransientError);
    proxy.faults.setPlan({ forbidden: ["root/dir/k"] });
    const err = await faulty.head("k").catch((e) => e);
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect(err.message).toContain("s3://bkt/root/dir/k");
  });
});
