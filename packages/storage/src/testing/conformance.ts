/**
 * The behaviour every storage backend must show, as one jest suite. Each
 * backend's test file calls {@link describeStorageConformance} with a factory;
 * tests run in separate sub-prefixes of the storage it returns, so one
 * storage serves the whole suite.
 *
 * Not exported from the package index (it needs jest's globals): import it as
 * `./testing/conformance` from a test file.
 */

import {
  AbortError,
  DecompressionError,
  InvalidKeyError,
  PreconditionFailedError,
  ReadOnlyStorageError,
  RequestError,
} from "../errors";
import type { Storage } from "../storage";

/** What the backend under test can do. Everything defaults to the full behaviour. */
export interface ConformanceCaps {
  /** Writes are refused (http): data is seeded through `writer`, write tests are skipped. */
  readOnly?: boolean;
  /** `ifAbsent` / `ifVersion` are supported. Default true (ignored when read-only). */
  conditional?: boolean;
  /** `list` is supported. Default true. */
  list?: boolean;
  /** `contentType` and `cacheControl` are kept and reported by `head`. Default false. */
  metadata?: boolean;
  /** Size of the large round-trip object, bytes. Default 5 MiB. */
  largeBytes?: number;
}

/** What the factory of {@link describeStorageConformance} returns. */
export interface ConformanceTarget {
  /** The storage under test (an empty root, or one nobody else writes to). */
  storage: Storage;
  /** For read-only storages: a writable storage over the same objects, used to seed them. */
  writer?: Storage;
  /** Called once after the suite. */
  cleanup?: () => Promise<void>;
}

/**
 * A real zstd frame (`zstd -19` of "ngpipe zstd fixture\n" repeated 50 times,
 * 1000 bytes): made with the zstd command line, not with the decoder under test.
 */
export const ZSTD_FIXTURE = {
  compressed: Buffer.from("KLUv/WToAt0AAKBuZ3BpcGUgenN0ZCBmaXh0dXJlCgEAol81mcCp3hQ=", "base64"),
  plain: new TextEncoder().encode("ngpipe zstd fixture\n".repeat(50)),
};

/**
 * A zstd frame holding `data` in one raw (stored) block, written from the
 * format spec (RFC 8878 §3.1): magic, a frame header with single-segment flag
 * and a 4-byte content size, then a last raw block.
 */
export function zstdRawFrame(data: Uint8Array): Uint8Array {
  if (data.length >= 1 << 21)
    throw new Error("raw block limit is 128 KiB in practice; keep it small");
  const out = new Uint8Array(4 + 1 + 4 + 3 + data.length);
  out.set([0x28, 0xb5, 0x2f, 0xfd], 0);
  out[4] = 0b1010_0000; // FCS field size flag 2 (4 bytes), single segment
  new DataView(out.buffer).setUint32(5, data.length, true);
  const header = (data.length << 3) | (0 << 1) | 1; // size, Raw_Block, Last_Block
  out[9] = header & 0xff;
  out[10] = (header >> 8) & 0xff;
  out[11] = (header >> 16) & 0xff;
  out.set(data, 12);
  return out;
}

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
export function pseudoRandomBytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const k of it) out.push(k);
  return out;
}

async function* fromArray<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/**
 * Defines a jest `describe` block named `storage conformance: <name>` that
 * checks every behaviour of {@link Storage} on the storage `make` returns.
 *
 * @example
 * describeStorageConformance("mem", async () => ({ storage: openStorage("mem://conf") }));
 */
export function describeStorageConformance(
  name: string,
  make: () => Promise<ConformanceTarget>,
  caps: ConformanceCaps = {},
): void {
  const readOnly = caps.readOnly ?? false;
  const conditional = !readOnly && (caps.conditional ?? true);
  const canList = caps.list ?? true;
  const large = caps.largeBytes ?? 5 * 1024 * 1024;
  const writeTest = skipUnless(!readOnly, `${name} is read-only: its write tests are skipped`);
  const condTest = skipUnless(
    conditional,
    `${name} has no conditional writes: its ifAbsent/ifVersion tests are skipped`,
  );
  const listTest = skipUnless(canList, `${name} cannot list: its list tests are skipped`);

  describe(`storage conformance: ${name}`, () => {
    let target: ConformanceTarget;
    let n = 0;
    const runId = `c${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

    /** A fresh sub-prefix: `s` is the storage under test, `w` writes to the same place. */
    function scope(): { s: Storage; w: Storage } {
      const sub = `${runId}/t${n++}`;
      const w = (target.writer ?? target.storage).child(sub);
      return { s: target.storage.child(sub), w };
    }

    beforeAll(async () => {
      target = await make();
    });

    afterAll(async () => {
      await target?.cleanup?.();
    });

    test("a missing key reads as null / false everywhere", async () => {
      const { s } = scope();
      expect(await s.get("missing")).toBeNull();
      expect(await s.getWithInfo("missing")).toBeNull();
      expect(await s.getRaw("missing")).toBeNull();
      expect(await s.head("missing")).toBeNull();
      expect(await s.exists("missing")).toBe(false);
      expect(await s.size("missing")).toBeNull();
      expect(await s.get("missing", { range: { start: 0, end: 4 } })).toBeNull();
    });

    test("bytes round-trip exactly, including all 256 byte values", async () => {
      const { s, w } = scope();
      const data = new Uint8Array(512);
      for (let i = 0; i < data.length; i++) data[i] = i & 0xff;
      await w.put("a/b/all-bytes", data);
      const got = await s.get("a/b/all-bytes");
      expect(got).toBeInstanceOf(Uint8Array);
      expect(Array.from(got!)).toEqual(Array.from(data));
      expect(await s.exists("a/b/all-bytes")).toBe(true);
      expect(await s.size("a/b/all-bytes")).toBe(512);
    });

    test("a string is stored as UTF-8", async () => {
      const { s, w } = scope();
      await w.put("text", "héllo ✓");
      expect(new TextDecoder().decode((await s.get("text"))!)).toBe("héllo ✓");
      expect(await s.size("text")).toBe(bytes("héllo ✓").length);
    });

    test("an empty object exists and reads as zero bytes", async () => {
      const { s, w } = scope();
      await w.put("empty", new Uint8Array(0));
      const got = await s.get("empty");
      expect(got).not.toBeNull();
      expect(got!.length).toBe(0);
      expect(await s.exists("empty")).toBe(true);
      expect(await s.size("empty")).toBe(0);
    });

    test("a large object round-trips", async () => {
      const { s, w } = scope();
      const data = pseudoRandomBytes(large, 7);
      await w.put("large.bin", data);
      const got = await s.get("large.bin");
      expect(got!.length).toBe(large);
      expect(Buffer.from(got!).equals(Buffer.from(data))).toBe(true);
      const info = await s.getWithInfo("large.bin");
      expect(info!.info.size).toBe(large);
    });

    writeTest("put replaces an existing object", async () => {
      const { s } = scope();
      await s.put("k", "first version, longer");
      await s.put("k", "second");
      expect(new TextDecoder().decode((await s.get("k"))!)).toBe("second");
      expect(await s.size("k")).toBe(6);
    });

    test("byte ranges return [start, end) clipped to the object", async () => {
      const { s, w } = scope();
      const data = pseudoRandomBytes(1000, 3);
      await w.put("r", data);
      const slice = async (start: number, end?: number) =>
        Array.from((await s.get("r", { range: { start, end } }))!);
      expect(await slice(10, 20)).toEqual(Array.from(data.subarray(10, 20)));
      expect(await slice(0, 1)).toEqual([data[0]]);
      expect(await slice(990)).toEqual(Array.from(data.subarray(990)));
      expect(await slice(995, 5000)).toEqual(Array.from(data.subarray(995)));
      expect(await slice(500, 500)).toEqual([]);
      expect(await slice(1000)).toEqual([]);
      expect(await slice(2000, 3000)).toEqual([]);
    });

    test("an invalid byte range is a RequestError", async () => {
      const { s, w } = scope();
      await w.put("r", "0123456789");
      await expect(s.get("r", { range: { start: 5, end: 2 } })).rejects.toBeInstanceOf(
        RequestError,
      );
      await expect(s.get("r", { range: { start: -1 } })).rejects.toBeInstanceOf(RequestError);
    });

    for (const codec of ["gzip", "br"] as const) {
      test(`${codec}-compressed objects read back transparently`, async () => {
        const { s, w } = scope();
        const data = bytes("compressible ".repeat(500));
        await w.put("dir/c", data, { compress: codec });
        expect(Array.from((await s.get("dir/c"))!)).toEqual(Array.from(data));
        const head = await s.head("dir/c");
        expect(head!.contentEncoding).toBe(codec);
        expect(head!.size).toBeLessThan(data.length);
        expect(await s.exists("dir/c")).toBe(true);
        const raw = await s.getRaw("dir/c");
        expect(raw!.info.contentEncoding).toBe(codec);
        expect(raw!.data.length).toBeLessThan(data.length);
        if (canList) expect(await collect(s.list("dir/"))).toEqual(["dir/c"]);
      });
    }

    test("compress: true means gzip", async () => {
      const { s, w } = scope();
      await w.put("g", "x".repeat(100), { compress: true });
      expect((await s.head("g"))!.contentEncoding).toBe("gzip");
      expect(new TextDecoder().decode((await s.get("g"))!)).toBe("x".repeat(100));
    });

    test("zstd objects are read (a zstd-CLI frame and a raw-block frame)", async () => {
      const { s, w } = scope();
      await w.putRaw("z1", ZSTD_FIXTURE.compressed, { contentEncoding: "zstd" });
      expect(Array.from((await s.get("z1"))!)).toEqual(Array.from(ZSTD_FIXTURE.plain));
      const plain = pseudoRandomBytes(300, 11);
      await w.putRaw("z2", zstdRawFrame(plain), { contentEncoding: "zstd" });
      expect(Array.from((await s.get("z2"))!)).toEqual(Array.from(plain));
      expect((await s.head("z2"))!.contentEncoding).toBe("zstd");
    });

    writeTest("writing zstd is refused with a RequestError", async () => {
      const { s } = scope();
      await expect(s.put("z", "data", { compress: "zstd" })).rejects.toBeInstanceOf(RequestError);
    });

    writeTest("exactly one stored form remains when the compression changes", async () => {
      const { s } = scope();
      await s.put("f", "plain-1");
      await s.put("f", "gzip-2".repeat(10), { compress: "gzip" });
      expect(new TextDecoder().decode((await s.get("f"))!)).toBe("gzip-2".repeat(10));
      await s.put("f", "br-3".repeat(10), { compress: "br" });
      expect(new TextDecoder().decode((await s.get("f"))!)).toBe("br-3".repeat(10));
      expect((await s.head("f"))!.contentEncoding).toBe("br");
      await s.put("f", "plain-4");
      expect(new TextDecoder().decode((await s.get("f"))!)).toBe("plain-4");
      expect((await s.head("f"))!.contentEncoding).toBeUndefined();
      if (canList) expect(await collect(s.list("", { recursive: true }))).toEqual(["f"]);
      await s.delete("f");
      expect(await s.exists("f")).toBe(false);
      expect(await s.get("f")).toBeNull();
    });

    writeTest("delete removes every form and is idempotent", async () => {
      const { s } = scope();
      await s.put("d1", "x", { compress: "gzip" });
      await s.put("d2", "y");
      await s.delete("d1");
      await s.delete("d2");
      await s.delete("d2");
      await s.delete("never-existed");
      expect(await s.exists("d1")).toBe(false);
      expect(await s.exists("d2")).toBe(false);
      expect(await s.get("d1")).toBeNull();
    });

    test("a ranged read of a compressed object is a RequestError that says why", async () => {
      const { s, w } = scope();
      await w.put("cr", "z".repeat(200), { compress: "gzip" });
      const err = await s.get("cr", { range: { start: 0, end: 10 } }).catch((e) => e);
      expect(err).toBeInstanceOf(RequestError);
      expect(String(err.message)).toMatch(/compress/);
      expect(err.key).toBe("cr");
    });

    test("corrupt compressed bytes are a DecompressionError naming the key", async () => {
      const { s, w } = scope();
      await w.putRaw("bad", bytes("this is not gzip at all"), { contentEncoding: "gzip" });
      const err = await s.get("bad").catch((e) => e);
      expect(err).toBeInstanceOf(DecompressionError);
      expect(err.key).toBe("bad");
      expect(String(err.message)).toContain("bad");
    });

    listTest("list is sorted, relative to the root, recursive or one level", async () => {
      const { s, w } = scope();
      const keys = ["a/x/1", "a/x/2", "a/y", "a/z/deep/er", "b", "a-sibling", "ab/c"];
      for (const k of keys) await w.put(k, k);
      await w.put("a/gz", "compressed", { compress: "gzip" });
      expect(await collect(s.list("", { recursive: true }))).toEqual(
        ["a-sibling", "a/gz", "a/x/1", "a/x/2", "a/y", "a/z/deep/er", "ab/c", "b"].sort(),
      );
      expect(await collect(s.list("a/"))).toEqual(["a/gz", "a/x/", "a/y", "a/z/"]);
      expect(await collect(s.list("a/", { recursive: true }))).toEqual([
        "a/gz",
        "a/x/1",
        "a/x/2",
        "a/y",
        "a/z/deep/er",
      ]);
      expect(await collect(s.list(""))).toEqual(["a-sibling", "a/", "ab/", "b"]);
      expect(await collect(s.list("a/x"))).toEqual(["a/x/"]);
      expect(await collect(s.list("a/x", { recursive: true }))).toEqual(["a/x/1", "a/x/2"]);
      expect(await collect(s.list("nothing-here/", { recursive: true }))).toEqual([]);
    });

    test("getMany returns one result per key in input order, null for missing", async () => {
      const { s, w } = scope();
      const present = Array.from({ length: 12 }, (_, i) => `m/${i}`);
      await Promise.all(present.map((k) => w.put(k, k)));
      const keys = present.flatMap((k, i) => (i % 3 === 0 ? [k, `${k}-missing`] : [k]));
      const progress: number[] = [];
      const results = await s.getMany(keys, {
        concurrency: 3,
        onProgress: (done, total) => {
          expect(total).toBe(keys.length);
          progress.push(done);
        },
      });
      expect(results.map((r) => r.key)).toEqual(keys);
      for (const r of results) {
        expect(r.ok).toBe(true);
        const value = r.ok ? r.value : undefined;
        if (r.key.endsWith("-missing")) expect(value).toBeNull();
        else expect(new TextDecoder().decode(value!)).toBe(r.key);
      }
      expect(progress[progress.length - 1]).toBe(keys.length);
      const streamed = await s.getMany(fromArray(keys), { concurrency: 4 });
      expect(streamed.map((r) => r.key)).toEqual(keys);
      expect(streamed.map((r) => (r.ok && r.value ? r.value.length : -1))).toEqual(
        results.map((r) => (r.ok && r.value ? r.value.length : -1)),
      );
    });

    test("a bad key fails alone in a batch", async () => {
      const { s, w } = scope();
      await w.put("good", "ok");
      const results = await s.getMany(["good", "../escape", "", "good"]);
      expect(results.map((r) => r.ok)).toEqual([true, false, false, true]);
      expect(!results[1].ok && results[1].error).toBeInstanceOf(InvalidKeyError);
      expect(!results[2].ok && results[2].error).toBeInstanceOf(InvalidKeyError);
      const exists = await s.existsMany(["good", "nope", "/abs"]);
      expect(exists.map((r) => (r.ok ? r.value : "error"))).toEqual([true, false, "error"]);
    });

    writeTest("putMany, existsMany and deleteMany work on arrays and iterables", async () => {
      const { s } = scope();
      const items = Array.from({ length: 20 }, (_, i) => ({ key: `p/${i}`, data: `value ${i}` }));
      const put = await s.putMany(fromArray(items), { concurrency: 5, compress: "gzip" });
      expect(put.every((r) => r.ok)).toBe(true);
      expect(put.map((r) => r.key)).toEqual(items.map((i) => i.key));
      expect((await s.head("p/3"))!.contentEncoding).toBe("gzip");
      const got = await s.getMany(items.map((i) => i.key));
      expect(got.map((r) => (r.ok ? new TextDecoder().decode(r.value!) : "?"))).toEqual(
        items.map((i) => i.data),
      );
      const toDelete = items.filter((_, i) => i % 2 === 0).map((i) => i.key);
      const del = await s.deleteMany(new Set(toDelete));
      expect(del.every((r) => r.ok)).toBe(true);
      const ex = await s.existsMany(items.map((i) => i.key));
      expect(ex.map((r) => r.ok && r.value)).toEqual(items.map((_, i) => i % 2 === 1));
    });

    condTest("ifAbsent writes only when no object exists", async () => {
      const { s } = scope();
      await s.put("once", "first", { ifAbsent: true });
      const err = await s.put("once", "second", { ifAbsent: true }).catch((e) => e);
      expect(err).toBeInstanceOf(PreconditionFailedError);
      expect(err.key).toBe("once");
      expect(new TextDecoder().decode((await s.get("once"))!)).toBe("first");
      await s.put("gz", "zipped", { compress: "gzip" });
      await expect(s.put("gz", "plain", { ifAbsent: true })).rejects.toBeInstanceOf(
        PreconditionFailedError,
      );
    });

    condTest("ifVersion writes only over that exact version", async () => {
      const { s } = scope();
      await s.put("v", "one");
      const v1 = (await s.head("v"))!.version!;
      expect(typeof v1).toBe("string");
      const r2 = await s.put("v", "two", { ifVersion: v1 });
      expect(new TextDecoder().decode((await s.get("v"))!)).toBe("two");
      await expect(s.put("v", "three", { ifVersion: v1 })).rejects.toBeInstanceOf(
        PreconditionFailedError,
      );
      const v2 = r2.version ?? (await s.head("v"))!.version!;
      expect(v2).not.toBe(v1);
      expect(v2).toBe((await s.head("v"))!.version);
      await s.put("v", "three", { ifVersion: v2 });
      expect(new TextDecoder().decode((await s.get("v"))!)).toBe("three");
      await expect(s.put("missing", "x", { ifVersion: v2 })).rejects.toBeInstanceOf(
        PreconditionFailedError,
      );
    });

    condTest("of 20 concurrent ifAbsent writers exactly one wins", async () => {
      const { s } = scope();
      const writers = Array.from({ length: 20 }, (_, i) =>
        s.put("race", `writer ${i}`, { ifAbsent: true }).then(() => i),
      );
      const settled = await Promise.allSettled(writers);
      const winners = settled.filter((r) => r.status === "fulfilled");
      expect(winners).toHaveLength(1);
      for (const r of settled) {
        if (r.status === "rejected") expect(r.reason).toBeInstanceOf(PreconditionFailedError);
      }
      const winner = (winners[0] as PromiseFulfilledResult<number>).value;
      expect(new TextDecoder().decode((await s.get("race"))!)).toBe(`writer ${winner}`);
    });

    test("an aborted signal rejects every call with an AbortError", async () => {
      const { s, w } = scope();
      await w.put("k", "v");
      const signal = AbortSignal.abort();
      const calls: Promise<unknown>[] = [
        s.get("k", { signal }),
        s.head("k", { signal }),
        s.exists("k", { signal }),
        s.getMany(["k", "k"], { signal }),
      ];
      if (!readOnly) calls.push(s.put("k2", "v", { signal }), s.delete("k", { signal }));
      if (canList) calls.push(collect(s.list("", { signal })));
      for (const call of calls) {
        const err = await call.then(
          () => undefined,
          (e) => e,
        );
        expect(err).toBeInstanceOf(AbortError);
        expect(err.name).toBe("AbortError");
      }
      expect(new TextDecoder().decode((await s.get("k"))!)).toBe("v");
    });

    test("aborting during a batch stops it with an AbortError", async () => {
      const { s, w } = scope();
      const keys = Array.from({ length: 30 }, (_, i) => `ab/${i}`);
      await Promise.all(keys.map((k) => w.put(k, k)));
      const ac = new AbortController();
      const err = await s
        .getMany(keys, {
          concurrency: 2,
          signal: ac.signal,
          onProgress: (done) => {
            if (done === 3) ac.abort();
          },
        })
        .catch((e) => e);
      expect(err).toBeInstanceOf(AbortError);
    });

    test("keys that leave the root are InvalidKeyErrors", async () => {
      const { s } = scope();
      for (const key of ["", "/abs", "../up", "a/../../up", "a\\..\\b", "nul\0byte"]) {
        const err = await s.get(key).catch((e) => e);
        expect(err).toBeInstanceOf(InvalidKeyError);
      }
      expect(await s.get("a/./b/../c")).toBeNull();
      const child = s.child("sub");
      await expect(child.get("../sibling")).rejects.toBeInstanceOf(InvalidKeyError);
    });

    test("child storages see keys relative to their own root", async () => {
      const { s, w } = scope();
      await w.put("sub/dir/k", "in child");
      const child = s.child("sub/dir");
      expect(child.url).toBe(`${s.url}/sub/dir`);
      expect(new TextDecoder().decode((await child.get("k"))!)).toBe("in child");
      expect(await s.join("sub").exists("dir/k")).toBe(true);
      if (canList) expect(await collect(child.list("", { recursive: true }))).toEqual(["k"]);
    });

    if (readOnly) {
      test("writes are refused with ReadOnlyStorageError", async () => {
        const { s } = scope();
        await expect(s.put("x", "y")).rejects.toBeInstanceOf(ReadOnlyStorageError);
        await expect(s.delete("x")).rejects.toBeInstanceOf(ReadOnlyStorageError);
        const many = await s.putMany([{ key: "x", data: "y" }]);
        expect(!many[0].ok && many[0].error).toBeInstanceOf(ReadOnlyStorageError);
      });
    }

    if (caps.metadata && !readOnly) {
      test("contentType and cacheControl are kept", async () => {
        const { s } = scope();
        await s.put("meta.json", "{}", {
          contentType: "application/json",
          cacheControl: "no-cache",
        });
        const head = await s.head("meta.json");
        expect(head!.contentType).toBe("application/json");
        expect(head!.cacheControl).toBe("no-cache");
      });
    }
  });
}

/** `test` when `ok`; else `test.skip`, saying why on stderr (a bare skip only shows a count). */
function skipUnless(ok: boolean, why: string): jest.It {
  if (!ok) process.stderr.write(`skipping tests: ${why}\n`);
  return ok ? test : test.skip;
}
