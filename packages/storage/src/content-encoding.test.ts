import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { useMoto } from "../../../test/support/moto";
import { storedCompression } from "./compression";
import { DecompressionError, RequestError } from "./errors";
import { openStorage } from "./open";
import { GcsLoopbackServer } from "./testing/gcs-server";
import { transfer } from "./transfer";
import type { Compression } from "./types";

const text = (d: Uint8Array | null) => (d === null ? null : Buffer.from(d).toString());
const gz = (s: string) => gzipSync(Buffer.from(s));

describe("storedCompression", () => {
  test("reads identity, x-gzip, any case and identity entries of a list", () => {
    const c = (v: string | undefined) => storedCompression(v, "s3://b", "k");
    expect(c(undefined)).toBeUndefined();
    expect(c("")).toBeUndefined();
    expect(c("identity")).toBeUndefined();
    expect(c(" Identity ")).toBeUndefined();
    expect(c("x-gzip")).toBe("gzip");
    expect(c("GZIP")).toBe("gzip");
    expect(c("gzip, identity")).toBe("gzip");
    expect(c("identity,br")).toBe("br");
    expect(c("zstd")).toBe("zstd");
  });

  test("an unknown or stacked coding is a DecompressionError naming key and coding", () => {
    for (const v of ["compress", "gzip, br", "constructor"]) {
      expect(() => storedCompression(v, "s3://b/p", "dir/k")).toThrow(DecompressionError);
      expect(() => storedCompression(v, "s3://b/p", "dir/k")).toThrow(
        new RegExp(`s3://b/p/dir/k .*${JSON.stringify(v)}`),
      );
    }
  });
});

describe("putRaw refuses a codec that is not one of gzip, br, zstd", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ngpipe-enc-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("on file://, instead of writing a key ending in undefined", async () => {
    const s = openStorage(`file://${dir}`);
    const put = s.putRaw("info", Buffer.from("{}"), {
      contentEncoding: "identity" as Compression,
    });
    await expect(put).rejects.toThrow(RequestError);
    await expect(put).rejects.toThrow(/info .*"identity"/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

const moto = useMoto();
const maybe = moto.available ? describe : describe.skip;

maybe("s3:// objects written by other tools with any Content-Encoding", () => {
  const bucket = "enc";
  let admin: S3Client;
  let dir: string;

  beforeAll(async () => {
    admin = new S3Client({ endpoint: moto.endpoint, forcePathStyle: true, region: "us-east-1" });
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
    const put = (Key: string, Body: Uint8Array | string, ContentEncoding: string) =>
      admin.send(new PutObjectCommand({ Bucket: bucket, Key, Body, ContentEncoding }));
    await put("vol/info", "{}", "identity");
    await put("vol/y", gz("why"), "x-gzip");
    await put("vol/upper", gz("UP"), "GZIP");
    await put("vol/listed", gz("list"), "gzip, identity");
    await put("odd/lzw", "???", "compress");
  });

  afterAll(() => admin?.destroy());

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ngpipe-enc-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("get reads identity as plain and x-gzip, GZIP, 'gzip, identity' as gzip", async () => {
    const s = openStorage(`s3://${moto.endpoint}/${bucket}/vol`);
    expect(text(await s.get("info"))).toBe("{}");
    expect((await s.head("info"))?.contentEncoding).toBeUndefined();
    expect(text(await s.get("y"))).toBe("why");
    expect((await s.head("y"))?.contentEncoding).toBe("gzip");
    expect(text(await s.get("upper"))).toBe("UP");
    expect(text(await s.get("listed"))).toBe("list");
    await s.close();
  });

  test("an unknown coding fails get and head with the key and the coding; the object exists", async () => {
    const s = openStorage(`s3://${moto.endpoint}/${bucket}/odd`);
    const got = s.get("lzw");
    await expect(got).rejects.toThrow(DecompressionError);
    await expect(got).rejects.toThrow(/odd\/lzw .*"compress"/);
    await expect(s.head("lzw")).rejects.toThrow(DecompressionError);
    expect(await s.exists("lzw")).toBe(true);
    await s.close();
  });

  test("transfer to file:// names the files by their real codec", async () => {
    const src = openStorage(`s3://${moto.endpoint}/${bucket}/vol`);
    const dst = openStorage(`file://${dir}`);
    const r = await transfer(src, dst);
    expect(r.failed).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(["info", "listed.gz", "upper.gz", "y.gz"]);
    expect(text(await dst.get("info"))).toBe("{}");
    expect(text(await dst.get("y"))).toBe("why");
    await src.close();
  });

  test("transfer of an object with an unknown coding reports it failed and writes nothing", async () => {
    const src = openStorage(`s3://${moto.endpoint}/${bucket}/odd`);
    const r = await transfer(src, openStorage(`file://${dir}`));
    expect(r.copied).toBe(0);
    expect(r.failed.map((f) => [f.key, f.error.name])).toEqual([["lzw", "DecompressionError"]]);
    expect(readdirSync(dir)).toEqual([]);
    await src.close();
  });
});

describe("gs:// objects with any Content-Encoding", () => {
  let server: GcsLoopbackServer;
  const open = (prefix: string) =>
    openStorage(`gs://bkt/${prefix}`, { endpoint: server.endpoint, credentials: {} });

  beforeAll(async () => {
    server = await GcsLoopbackServer.start();
    server.putObject("bkt", "vol/info", Buffer.from("{}"), { contentEncoding: "identity" });
    server.putObject("bkt", "vol/y", gz("why"), { contentEncoding: "x-gzip" });
    server.putObject("bkt", "vol/listed", gz("list"), { contentEncoding: "GZIP, identity" });
    server.putObject("bkt", "odd/lzw", Buffer.from("???"), { contentEncoding: "compress" });
  });
  afterAll(() => server.stop());

  test("get and head read identity as plain and x-gzip, 'GZIP, identity' as gzip", async () => {
    const s = open("vol");
    expect(text(await s.get("info"))).toBe("{}");
    expect((await s.head("info"))?.contentEncoding).toBeUndefined();
    expect(text(await s.get("y"))).toBe("why");
    expect((await s.head("y"))?.contentEncoding).toBe("gzip");
    expect(text(await s.get("listed"))).toBe("list");
  });

  test("an unknown coding fails get and head with the key and the coding", async () => {
    const s = open("odd");
    await expect(s.get("lzw")).rejects.toThrow(/odd\/lzw .*"compress"/);
    await expect(s.get("lzw")).rejects.toThrow(DecompressionError);
    await expect(s.head("lzw")).rejects.toThrow(DecompressionError);
    expect(await s.exists("lzw")).toBe(true);
  });
});
