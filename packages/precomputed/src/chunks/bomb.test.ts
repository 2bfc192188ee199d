/**
 * A chunk that is a decompression bomb (64 MiB of zeros, gzip or brotli,
 * where a 64x64x64 uint8 chunk holds 256 KiB) is refused with
 * ChunkDecodeError, and reading it raises the peak memory of the reading
 * process by far less than the bomb's size: inflation stops at the chunk's
 * limit. Measured in a child process (process.resourceUsage().maxRSS, the
 * peak) so that jest's own memory does not count.
 */
import { execFileSync } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { constants, createBrotliCompress, createGzip } from "node:zlib";
import { NdArray } from "../array";
import { closePool } from "../pool";
import { Volume } from "../volume";

const MiB = 2 ** 20;
let tmp: string;

/** Write `bytes` of zeros through a compressor into `file`, a megabyte at a time. */
async function writeBomb(file: string, codec: "gzip" | "br", bytes: number): Promise<void> {
  const zeros = new Uint8Array(MiB);
  async function* source() {
    for (let i = 0; i < bytes / MiB; i++) yield zeros;
  }
  await pipeline(
    source(),
    codec === "gzip"
      ? createGzip({ level: 9 })
      : createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 1 } }),
    createWriteStream(file),
  );
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "ngpipe-bomb-"));
});
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await closePool();
});

test.each(["gzip", "br"] as const)(
  "a 64 MiB %s bomb chunk is a ChunkDecodeError, and memory grows by far less than 64 MiB",
  async (codec) => {
    const dir = join(tmp, codec);
    const vol = await Volume.create(`file://${dir}`, {
      type: "image",
      data_type: "uint8",
      num_channels: 1,
      scales: [
        {
          key: "1_1_1",
          resolution: [1, 1, 1],
          size: [256, 64, 64],
          voxel_offset: [0, 0, 0],
          chunk_sizes: [[64, 64, 64]],
          encoding: "raw",
        },
      ],
    });
    await vol.write("0-128_0-64_0-64", NdArray.zeros("uint8", [128, 64, 64, 1]));
    mkdirSync(join(dir, "1_1_1"), { recursive: true });
    const suffix = codec === "gzip" ? ".gz" : ".br";
    for (const x of ["128-192", "192-256"])
      await writeBomb(join(dir, "1_1_1", `${x}_0-64_0-64${suffix}`), codec, 64 * MiB);

    const out = execFileSync(
      process.execPath,
      ["--require", "tsx/cjs", join(__dirname, "bomb-reader.testutil.ts"), dir],
      { cwd: join(__dirname, "../../../.."), encoding: "utf8", timeout: 120_000 },
    );
    const r = JSON.parse(out.trim().split("\n").pop() as string);
    if (process.env.NGPIPE_BOMB_REPORT) process.stderr.write(`${codec} ${out}`);
    expect(r.inline).toBe("ChunkDecodeError");
    expect(r.pooled).toBe("ChunkDecodeError");
    // maxRSS is in KiB and is the peak so far: its growth over the warm-up
    // is the most the bomb reads added at any moment.
    expect((r.afterPooled - r.baseline) * 1024).toBeLessThan(64 * MiB);
  },
);
