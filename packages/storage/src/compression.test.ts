import { Worker } from "node:worker_threads";
import { gunzipSync, gzipSync } from "node:zlib";
import fc from "fast-check";
import {
  compressBytes,
  compressSync,
  decompressBytes,
  decompressSync,
  logicalKeys,
  parseContentEncoding,
  stripCompressionSuffix,
} from "./compression";
import { DecompressionError } from "./errors";

async function* from(keys: string[]): AsyncGenerator<string> {
  yield* keys;
}

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const k of it) out.push(k);
  return out;
}

test("gzip output is standard gzip, readable by zlib", async () => {
  const data = new TextEncoder().encode("abc".repeat(1000));
  const gz = await compressBytes(data, "gzip");
  expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
  expect(Buffer.from(gunzipSync(gz)).equals(Buffer.from(data))).toBe(true);
  const back = await decompressBytes(gzipSync(data), "gzip", "mem://t", "k");
  expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true);
});

test("gzip and brotli round-trip any bytes", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 2000 }),
      fc.constantFrom("gzip", "br"),
      async (data, codec) => {
        const packed = await compressBytes(data, codec as "gzip" | "br");
        const back = await decompressBytes(packed, codec as "gzip" | "br", "mem://t", "k");
        expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true);
      },
    ),
    { numRuns: 40 },
  );
});

test("the synchronous pair round-trips any bytes, and matches the async pair's output", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 2000 }),
      fc.constantFrom("gzip", "br"),
      fc.integer({ min: 1, max: 9 }),
      async (data, codec, level) => {
        const c = codec as "gzip" | "br";
        const packed = compressSync(data, c, level);
        expect(Buffer.from(packed).equals(Buffer.from(await compressBytes(data, c, level)))).toBe(
          true,
        );
        // The result owns its buffer, so a worker can transfer it.
        expect(packed.byteOffset === 0 && packed.byteLength === packed.buffer.byteLength).toBe(
          true,
        );
        const back = decompressSync(packed, c);
        expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true);
      },
    ),
    { numRuns: 40 },
  );
});

test("decompressSync reads zstd (what CloudFiles writes) and refuses to write it", () => {
  // "hello zstd\n" compressed by the zstd command line tool.
  const zst = Buffer.from("KLUv/QRYWQAAaGVsbG8genN0ZApsV/lR", "base64");
  expect(Buffer.from(decompressSync(zst, "zstd")).toString()).toBe("hello zstd\n");
  expect(() => compressSync(new Uint8Array(4), "zstd")).toThrow(/reading only/);
});

test("decompressSync names the url and key of bytes that do not decompress", () => {
  for (const codec of ["gzip", "br", "zstd"] as const) {
    let err: unknown;
    try {
      decompressSync(new Uint8Array([1, 2, 3, 4, 5]), codec, {
        url: "s3://b/l",
        key: "1_1_1/0-64_0-64_0-64",
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DecompressionError);
    expect((err as DecompressionError).key).toBe("1_1_1/0-64_0-64_0-64");
    expect((err as Error).message).toContain("s3://b/l");
    expect((err as Error).message).toContain(codec);
  }
});

test("the compression module runs in a worker thread with no event loop turn", async () => {
  // The worker decompresses synchronously and answers before it ever yields.
  const gz = gzipSync(Buffer.from("in a worker"));
  const worker = new Worker(
    `const { parentPort, workerData } = require("node:worker_threads");
     require("tsx/cjs/api").register();
     const { decompressSync } = require(workerData.module);
     parentPort.postMessage(Buffer.from(decompressSync(workerData.gz, "gzip")).toString());`,
    { eval: true, workerData: { module: require.resolve("./compression.ts"), gz } },
  );
  const answer = await new Promise((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  await worker.terminate();
  expect(answer).toBe("in a worker");
});

test("undecodable bytes are a DecompressionError naming codec, key and url", async () => {
  for (const codec of ["gzip", "br", "zstd"] as const) {
    const err = await decompressBytes(
      new Uint8Array([1, 2, 3, 4, 5]),
      codec,
      "mem://t",
      "the/key",
    ).catch((e) => e);
    expect(err).toBeInstanceOf(DecompressionError);
    expect(err.key).toBe("the/key");
    expect(err.message).toContain(codec);
    expect(err.message).toContain("mem://t");
  }
});

test("Content-Encoding values map to codecs", () => {
  expect(parseContentEncoding("gzip")).toBe("gzip");
  expect(parseContentEncoding(" GZIP ")).toBe("gzip");
  expect(parseContentEncoding("br")).toBe("br");
  expect(parseContentEncoding("zstd")).toBe("zstd");
  expect(parseContentEncoding("identity")).toBeUndefined();
  expect(parseContentEncoding(null)).toBeUndefined();
});

test("suffixes are stripped from object names only", () => {
  expect(stripCompressionSuffix("a/b.gz")).toBe("a/b");
  expect(stripCompressionSuffix("a/b.br")).toBe("a/b");
  expect(stripCompressionSuffix("a/b.zst")).toBe("a/b");
  expect(stripCompressionSuffix("a/b.zstd")).toBe("a/b");
  expect(stripCompressionSuffix("a/b.json")).toBe("a/b.json");
  expect(stripCompressionSuffix(".gz")).toBe(".gz");
  expect(stripCompressionSuffix("dir/.gz")).toBe("dir/.gz");
});

test("logical listing re-sorts around stripped suffixes and drops duplicates", async () => {
  // "x.gz" strips to "x", which sorts before "x-1" and "x.a" seen earlier.
  const stored = ["x-1", "x.a", "x.gz", "x/y", "y", "y.br", "z.zst", "z.zstd"];
  expect(await collect(logicalKeys(from(stored)))).toEqual(["x", "x-1", "x.a", "x/y", "y", "z"]);
});

test("logical listing equals sort+strip+dedupe of any sorted listing", async () => {
  const name = fc.stringMatching(/^[a-c.\-/]{1,4}(\.gz|\.br|\.zst|\.zstd)?$/);
  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(name, { maxLength: 30 }), async (names) => {
      const stored = [...names].sort();
      const expected = [...new Set(stored.map(stripCompressionSuffix))].sort();
      expect(await collect(logicalKeys(from(stored)))).toEqual(expected);
    }),
    { numRuns: 300 },
  );
});

test("gzip output sized from the trailer owns its buffer; a wrong or multi-member trailer still inflates right", () => {
  const a = Buffer.alloc(4096, 7);
  const b = Buffer.alloc(3000, 9);
  const one = decompressSync(gzipSync(a), "gzip");
  expect(Buffer.from(one).equals(a)).toBe(true);
  expect(one.byteOffset).toBe(0);
  expect(one.buffer.byteLength).toBe(4096);
  // Two members: the trailer states only the last member's size.
  const two = decompressSync(Buffer.concat([gzipSync(a), gzipSync(b)]), "gzip");
  expect(Buffer.from(two).equals(Buffer.concat([a, b]))).toBe(true);
  expect(two.buffer.byteLength).toBe(two.byteLength);
  // A trailer stating 100 bytes for 4096 fails zlib's length check, as without the hint.
  const lying = gzipSync(a);
  lying.writeUInt32LE(100, lying.length - 4);
  expect(() => decompressSync(lying, "gzip")).toThrow(DecompressionError);
  // The hint never lifts maxBytes.
  expect(() => decompressSync(gzipSync(a), "gzip", { maxBytes: 1000 })).toThrow();
});
