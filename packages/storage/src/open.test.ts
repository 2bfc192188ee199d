import * as path from "node:path";
import { InvalidUrlError } from "./errors";
import { FileBackend } from "./file";
import { GcsBackend } from "./gcs";
import { HttpBackend } from "./http";
import { MemoryBackend } from "./memory";
import { openStorage, parseStorageUrl, registerBackend, registeredSchemes } from "./open";
import { S3Backend } from "./s3";

test("bare and file:// paths resolve to absolute directories", () => {
  expect(parseStorageUrl("/data/vol/").path).toBe("/data/vol");
  expect(parseStorageUrl("file:///data/vol").path).toBe("/data/vol");
  expect(parseStorageUrl("rel/dir").path).toBe(path.resolve("rel/dir"));
  expect(parseStorageUrl("file://rel/dir").path).toBe(path.resolve("rel/dir"));
  expect(parseStorageUrl("./x").url).toBe(`file://${path.resolve("x")}`);
});

test("mem:// URLs name a store and a prefix", () => {
  expect(parseStorageUrl("mem://scratch")).toMatchObject({
    scheme: "mem",
    name: "scratch",
    prefix: "",
  });
  expect(parseStorageUrl("mem://scratch/a/b/")).toMatchObject({
    name: "scratch",
    prefix: "a/b",
    url: "mem://scratch/a/b",
  });
});

test("gs:// and s3:// URLs give a cloud location", () => {
  expect(parseStorageUrl("gs://bucket").location).toEqual({ bucket: "bucket", prefix: "" });
  expect(parseStorageUrl("gs://bucket/a/b/").location).toEqual({ bucket: "bucket", prefix: "a/b" });
  expect(parseStorageUrl("s3://my.bucket/x").location).toEqual({
    bucket: "my.bucket",
    prefix: "x",
  });
});

test("s3:// URLs may carry an S3-compatible endpoint", () => {
  const p = parseStorageUrl("s3://http://127.0.0.1:5000/bucket/a/b");
  expect(p.location).toEqual({
    bucket: "bucket",
    prefix: "a/b",
    endpoint: "http://127.0.0.1:5000",
  });
  expect(p.url).toBe("s3://http://127.0.0.1:5000/bucket/a/b");
  expect(parseStorageUrl("s3://https://minio.lab:9000/b").location).toEqual({
    bucket: "b",
    prefix: "",
    endpoint: "https://minio.lab:9000",
  });
});

test("gs:// URLs may carry a JSON API endpoint too", () => {
  const p = parseStorageUrl("gs://http://127.0.0.1:4443/bucket/a");
  expect(p.location).toEqual({ bucket: "bucket", prefix: "a", endpoint: "http://127.0.0.1:4443" });
  expect(p.url).toBe("gs://http://127.0.0.1:4443/bucket/a");
  expect(parseStorageUrl("gs://HTTP://127.0.0.1:4443/bucket/a").location?.endpoint).toBe(
    "http://127.0.0.1:4443",
  );
});

test.each([
  [""],
  ["gs://"],
  ["gs://bad bucket/x"],
  ["s3://b/../x"],
  ["mem://"],
  ["mem://m/../x"],
  ["gs://http://host/"],
  ["http:/missing-slash"],
])("%j is an InvalidUrlError", (url) => {
  expect(() => openStorage(url)).toThrow(InvalidUrlError);
});

test("an unknown scheme names the known ones", () => {
  expect(() => openStorage("ftp://host/x")).toThrow(/no backend for ftp:\/\/.*file.*gs/);
});

test("openStorage picks the backend by scheme", () => {
  expect(openStorage("/tmp/ngpipe-open-test").backend).toBeInstanceOf(FileBackend);
  expect(openStorage("mem://open-test").backend).toBeInstanceOf(MemoryBackend);
  const http = openStorage("https://example.org/data/");
  expect(http.backend).toBeInstanceOf(HttpBackend);
  expect(http.url).toBe("https://example.org/data");
  expect(http.backend.readOnly).toBe(true);
  const creds = { type: "service_account", project_id: "p", client_email: "x@y", private_key: "k" };
  expect(openStorage("gs://b/p", { credentials: creds }).backend).toBeInstanceOf(GcsBackend);
  const s3 = openStorage("s3://http://127.0.0.1:1/b/p", {
    credentials: { AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b" },
  });
  expect(s3.backend).toBeInstanceOf(S3Backend);
  expect((s3.backend as S3Backend).location).toEqual({
    bucket: "b",
    prefix: "p",
    endpoint: "http://127.0.0.1:1",
  });
});

test("new schemes are registered, not switched on", async () => {
  registerBackend("labtest", (p) => new MemoryBackend(`lab-${p.rest}`));
  expect(registeredSchemes()).toContain("labtest");
  const s = openStorage("labtest://vol1");
  await s.put("k", "v");
  expect(await openStorage("mem://lab-vol1").exists("k")).toBe(true);
});

test("storage options reach the Storage", () => {
  const s = openStorage("mem://opts", { concurrency: 7 });
  expect(s.concurrency).toBe(7);
  expect(openStorage("/tmp/x").concurrency).toBe(16);
});

describe("Neuroglancer's precomputed:// prefix", () => {
  test("is dropped in front of any storage URL", () => {
    expect(parseStorageUrl("precomputed://gs://bucket/layer")).toMatchObject({
      scheme: "gs",
      url: "gs://bucket/layer",
      location: { bucket: "bucket", prefix: "layer" },
    });
    expect(parseStorageUrl("precomputed://file:///data/x")).toMatchObject({
      scheme: "file",
      path: "/data/x",
    });
    expect(parseStorageUrl("precomputed://https://host.org/a/b/")).toMatchObject({
      scheme: "https",
      url: "https://host.org/a/b",
    });
    expect(parseStorageUrl("PRECOMPUTED://s3://b/p").url).toBe("s3://b/p");
    expect(parseStorageUrl("precomputed:///data/x").path).toBe("/data/x");
  });

  test("only one is dropped, and something must follow it", () => {
    expect(() => parseStorageUrl("precomputed://")).toThrow(InvalidUrlError);
    expect(() => parseStorageUrl("precomputed://precomputed://gs://b/l")).toThrow(
      /precomputed:\/\/ given twice/,
    );
  });

  test("openStorage opens the storage behind it", async () => {
    const s = openStorage("precomputed://mem://open-test-prefix/layer");
    await s.put("info", new TextEncoder().encode("{}"));
    const plain = openStorage("mem://open-test-prefix/layer");
    expect(new TextDecoder().decode((await plain.get("info"))!)).toBe("{}");
  });
});
