/**
 * Decompression bombs: with `maxBytes`, gzip, brotli and zstd stop inflating
 * as soon as the output passes the limit and throw DecompressionLimitError
 * naming the key; without it they inflate as before.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { decompressBytes, decompressSync } from "./compression";
import { DecompressionError, DecompressionLimitError } from "./errors";
import { MemoryBackend } from "./memory";
import { Storage } from "./storage";

const MiB = 2 ** 20;
const zeros = new Uint8Array(16 * MiB);
const bombs = {
  gzip: new Uint8Array(gzipSync(zeros, { level: 9 })),
  br: new Uint8Array(brotliCompressSync(zeros)),
  // 64 MiB of zeros, compressed by the zstd command line tool (2 kB).
  zstd: new Uint8Array(readFileSync(join(__dirname, "fixtures", "zeros-64MiB.zst"))),
};

describe.each(Object.keys(bombs) as Array<keyof typeof bombs>)("%s", (codec) => {
  const bomb = bombs[codec];

  test("decompressSync stops at maxBytes with DecompressionLimitError naming the key", () => {
    let err: unknown;
    try {
      decompressSync(bomb, codec, { url: "mem://b", key: "chunk", maxBytes: MiB });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DecompressionLimitError);
    expect(err).toBeInstanceOf(DecompressionError);
    expect((err as DecompressionLimitError).limit).toBe(MiB);
    expect((err as Error).message).toMatch(/chunk under mem:\/\/b .* more than 1048576 bytes/);
  });

  test("decompressBytes (the event loop's) stops there too", async () => {
    await expect(decompressBytes(bomb, codec, "mem://b", "k", MiB)).rejects.toBeInstanceOf(
      DecompressionLimitError,
    );
  });

  test("data that fits the limit exactly inflates whole", () => {
    const n = codec === "zstd" ? 64 * MiB : 16 * MiB;
    expect(decompressSync(bomb, codec, { maxBytes: n }).byteLength).toBe(n);
  });
});

test("Storage.get and getJson take maxBytes; getJson caps at 64 MiB by default", async () => {
  const s = new Storage(new MemoryBackend("mem://bomb-get"));
  await s.put("big.json", `[${"0,".repeat(4 * MiB)}0]`, { compress: "gzip" });
  await expect(s.get("big.json", { maxBytes: MiB })).rejects.toBeInstanceOf(
    DecompressionLimitError,
  );
  expect((await s.get("big.json"))?.byteLength).toBe(8 * MiB + 3);
  process.env.NGPIPE_MAX_JSON_BYTES = String(MiB);
  try {
    await expect(s.getJson("big.json")).rejects.toBeInstanceOf(DecompressionLimitError);
  } finally {
    delete process.env.NGPIPE_MAX_JSON_BYTES;
  }
  expect(((await s.getJson("big.json")) as number[]).length).toBe(4 * MiB + 1);
});
