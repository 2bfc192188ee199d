import {
  JsonDecodeError,
  PermissionDeniedError,
  PreconditionFailedError,
  StorageError,
  TransientError,
} from "./errors";
import { clearMemoryStores, MemoryBackend } from "./memory";
import { openStorage } from "./open";
import { Storage } from "./storage";
import type { Backend, Compression, GetOptions, IoOptions, ListOptions, PutOptions } from "./types";

/** Deterministic PRNG (mulberry32) so that a failing run can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Wraps a backend: a share of calls fail with TransientError (like 503s and
 * resets), and one key is always 403. Counts attempts per key.
 */
class FaultyBackend implements Backend {
  readonly encodingInMetadata = false;
  readonly readOnly = false;
  transientThrown = 0;
  attempts = new Map<string, number>();
  private readonly random: () => number;

  constructor(
    private readonly inner: Backend,
    private readonly failRate: number,
    private readonly forbidden: string,
    seed: number,
  ) {
    this.random = rng(seed);
  }

  get url(): string {
    return this.inner.url;
  }

  private async fault(key: string): Promise<void> {
    this.attempts.set(key, (this.attempts.get(key) ?? 0) + 1);
    await Promise.resolve();
    if (key.startsWith(this.forbidden)) {
      throw new PermissionDeniedError(`403 Forbidden: ${this.url}/${key}`, this.url, key);
    }
    if (this.random() < this.failRate) {
      this.transientThrown++;
      throw new TransientError(`503 Service Unavailable: ${this.url}/${key}`, this.url, key, 503);
    }
  }

  async get(key: string, opts?: GetOptions) {
    await this.fault(key);
    return this.inner.get(key, opts);
  }
  async put(key: string, data: Uint8Array, opts: PutOptions & { contentEncoding?: Compression }) {
    await this.fault(key);
    return this.inner.put(key, data, opts);
  }
  async delete(key: string, opts?: IoOptions) {
    await this.fault(key);
    return this.inner.delete(key, opts);
  }
  async head(key: string, opts?: IoOptions) {
    await this.fault(key);
    return this.inner.head(key, opts);
  }
  list(prefix: string, opts?: ListOptions) {
    return this.inner.list(prefix, opts);
  }
}

function payload(i: number): Uint8Array {
  const out = new Uint8Array(64 + (i % 50));
  for (let j = 0; j < out.length; j++) out[j] = (i * 31 + j * 7) & 0xff;
  return out;
}

afterEach(() => clearMemoryStores());

describe("under injected faults", () => {
  const N = 500;
  const keys = Array.from({ length: N }, (_, i) => `chunks/${i}`);
  const forbidden = "chunks/123";
  const options = { retries: 12, retryBaseMs: 1, retryMaxMs: 4, concurrency: 16 };

  test("putMany and getMany of 500 keys finish with the right bytes; the 403 key fails fast", async () => {
    const faulty = new FaultyBackend(new MemoryBackend("faults"), 0.3, forbidden, 42);
    const s = new Storage(faulty, options);

    const put = await s.putMany(keys.map((key, i) => ({ key, data: payload(i) })));
    expect(put).toHaveLength(N);
    const putFailures = put.filter((r) => !r.ok);
    expect(putFailures.map((r) => r.key)).toEqual([forbidden]);

    faulty.attempts.clear();
    const got = await s.getMany(keys);
    expect(got.map((r) => r.key)).toEqual(keys);
    for (let i = 0; i < N; i++) {
      const r = got[i];
      if (keys[i] === forbidden) continue;
      expect(r.ok).toBe(true);
      expect(r.ok && Buffer.from(r.value!).equals(Buffer.from(payload(i)))).toBe(true);
    }
    const bad = got[123];
    expect(bad.ok).toBe(false);
    const err = !bad.ok ? (bad.error as StorageError) : undefined;
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect(err!.key).toBe(forbidden);
    expect(err!.url).toBe("mem://faults");
    expect(err!.message).toContain(forbidden);
    expect(err!.message).toContain("mem://faults");
    // No retries for a permanent error: exactly one attempt at the key.
    expect(faulty.attempts.get(forbidden)).toBe(1);
    // The faults really happened, and were absorbed by retries.
    expect(faulty.transientThrown).toBeGreaterThan(100);
  });

  test("without retries, transient failures surface per key and never stop the batch", async () => {
    const inner = new MemoryBackend("faults-noretry");
    const seeded = new Storage(inner);
    await seeded.putMany(keys.map((key, i) => ({ key, data: payload(i) })));
    const faulty = new FaultyBackend(inner, 0.3, forbidden, 7);
    const s = new Storage(faulty, { ...options, retries: 0 });
    const got = await s.getMany(keys);
    const failed = got.filter((r) => !r.ok);
    expect(failed.length).toBeGreaterThan(50);
    expect(failed.length).toBeLessThan(300);
    for (const r of failed) {
      expect(
        r.ok || r.error instanceof TransientError || r.error instanceof PermissionDeniedError,
      ).toBe(true);
    }
    expect(got.filter((r) => r.ok && r.value !== null)).toHaveLength(N - failed.length);
  });
});

test("a hung request is timed out and retried", async () => {
  const inner = new MemoryBackend("hang");
  await inner.put("k", new TextEncoder().encode("v"), {});
  let calls = 0;
  const hanging: Backend = {
    url: inner.url,
    encodingInMetadata: false,
    readOnly: false,
    get: (key, opts) => (++calls === 1 ? new Promise(() => {}) : inner.get(key, opts)),
    put: (key, data, opts) => inner.put(key, data, opts),
    delete: (key, opts) => inner.delete(key, opts),
    head: (key, opts) => inner.head(key, opts),
    list: (prefix, opts) => inner.list(prefix, opts),
  };
  const s = new Storage(hanging, { timeoutMs: 25, retryBaseMs: 1, retryMaxMs: 1 });
  expect(new TextDecoder().decode((await s.get("k"))!)).toBe("v");
  expect(calls).toBe(2);
});

test("unexpected backend errors are wrapped in a StorageError naming url and key", async () => {
  const broken: Backend = {
    url: "mem://broken",
    encodingInMetadata: true,
    readOnly: false,
    get: async () => {
      throw new RangeError("kaboom");
    },
    put: async () => ({}),
    delete: async () => {},
    head: async () => null,
    list: async function* () {},
  };
  const err = await new Storage(broken).get("some/key").catch((e) => e);
  expect(err).toBeInstanceOf(StorageError);
  expect(err.key).toBe("some/key");
  expect(err.message).toContain("mem://broken");
  expect(err.message).toContain("kaboom");
  expect(err.cause).toBeInstanceOf(RangeError);
});

test("a listing interrupted by a transient error resumes without duplicates", async () => {
  const inner = new MemoryBackend("list-resume");
  const s0 = new Storage(inner);
  const keys = Array.from({ length: 40 }, (_, i) => `k${String(i).padStart(2, "0")}`);
  await s0.putMany(keys.map((key) => ({ key, data: key })));
  let failuresLeft = 2;
  const flaky: Backend = Object.assign(Object.create(inner), {
    list: async function* (prefix: string, opts?: ListOptions) {
      let n = 0;
      for await (const k of inner.list(prefix, opts)) {
        if (++n === 15 && failuresLeft > 0) {
          failuresLeft--;
          throw new TransientError("connection reset", inner.url, undefined, undefined);
        }
        yield k;
      }
    },
  });
  const s = new Storage(flaky, { retryBaseMs: 1, retryMaxMs: 1 });
  const listed: string[] = [];
  for await (const k of s.list("", { recursive: true })) listed.push(k);
  expect(listed).toEqual(keys);
  expect(failuresLeft).toBe(0);
});

test("batch inputs from a generator are pulled lazily, never far ahead of the workers", async () => {
  const s = new Storage(new MemoryBackend("lazy"));
  let pulled = 0;
  let finished = 0;
  let maxAhead = 0;
  function* keys() {
    for (let i = 0; i < 200; i++) {
      pulled++;
      maxAhead = Math.max(maxAhead, pulled - finished);
      yield `k${i}`;
    }
  }
  const results = await s.getMany(keys(), {
    concurrency: 4,
    onProgress: (done, total) => {
      finished = done;
      expect(total).toBeUndefined();
    },
  });
  expect(results).toHaveLength(200);
  expect(results[199].key).toBe("k199");
  expect(maxAhead).toBeLessThanOrEqual(5);
});

test("per-item put options override the batch defaults", async () => {
  const s = new Storage(new MemoryBackend("items"));
  await s.putMany(
    [
      { key: "a", data: "aaaa".repeat(20) },
      { key: "b", data: "bbbb".repeat(20), compress: false, contentType: "text/plain" },
    ],
    { compress: "br", contentType: "application/octet-stream" },
  );
  expect((await s.head("a"))!.contentEncoding).toBe("br");
  expect((await s.head("a"))!.contentType).toBe("application/octet-stream");
  expect((await s.head("b"))!.contentEncoding).toBeUndefined();
  expect((await s.head("b"))!.contentType).toBe("text/plain");
});

test("ifVersion also guards a write that changes the compression", async () => {
  const s = new Storage(new MemoryBackend("cas-codec"));
  await s.put("k", "plain");
  const v1 = (await s.head("k"))!.version!;
  const { version: v2 } = await s.put("k", "now gzip".repeat(5), {
    compress: "gzip",
    ifVersion: v1,
  });
  expect(v2).toBe((await s.head("k"))!.version);
  await expect(s.put("k", "x", { ifVersion: v1 })).rejects.toBeInstanceOf(PreconditionFailedError);
  await s.put("k", "back to plain", { ifVersion: v2 });
  expect(new TextDecoder().decode((await s.get("k"))!)).toBe("back to plain");
  expect((await s.head("k"))!.contentEncoding).toBeUndefined();
});

test("metadata backends get the encoding as Content-Encoding, never as a suffix", async () => {
  const seen: { key: string; enc?: Compression }[] = [];
  const inner = new MemoryBackend("meta");
  const encodings = new Map<string, Compression | undefined>();
  const cloudish: Backend = {
    url: "gs://fake",
    encodingInMetadata: true,
    readOnly: false,
    async get(key, opts) {
      const r = await inner.get(key, opts);
      if (r) r.info.contentEncoding = encodings.get(key);
      return r;
    },
    async put(key, data, opts) {
      seen.push({ key, enc: opts.contentEncoding });
      encodings.set(key, opts.contentEncoding);
      return inner.put(key, data, opts);
    },
    delete: (key, opts) => inner.delete(key, opts),
    head: (key, opts) => inner.head(key, opts),
    list: (prefix, opts) => inner.list(prefix, opts),
  };
  const s = new Storage(cloudish);
  await s.put("obj", "hello ".repeat(30), { compress: "gzip" });
  expect(seen).toEqual([{ key: "obj", enc: "gzip" }]);
  expect(new TextDecoder().decode((await s.get("obj"))!)).toBe("hello ".repeat(30));
  await expect(s.get("obj", { range: { start: 0, end: 3 } })).rejects.toThrow(/compress/);
});

test("a listing prefix that cuts into a compression suffix does not list the logical key", async () => {
  const s = new Storage(new MemoryBackend("prefix-suffix"));
  await s.put("a/x", "1".repeat(40), { compress: "gzip" });
  await s.put("a/x.gold", "2");
  const listed: string[] = [];
  for await (const k of s.list("a/x.g", { recursive: true })) listed.push(k);
  expect(listed).toEqual(["a/x.gold"]);
});

test("getJson and putJson read and write JSON, with a typed error naming the key", async () => {
  const st = openStorage(`mem://json-${Date.now()}`);
  expect(await st.getJson("nothing")).toBeNull();
  await st.putJson("info", { type: "image", scales: [1, 2] });
  expect(await st.getJson<{ scales: number[] }>("info")).toEqual({ type: "image", scales: [1, 2] });
  expect((await st.head("info"))?.contentType).toBe("application/json");
  await st.put("broken", "{not json");
  const err = await st.getJson("broken").catch((e) => e);
  expect(err).toBeInstanceOf(JsonDecodeError);
  expect((err as JsonDecodeError).key).toBe("broken");
  expect((err as Error).message).toContain("/broken is not valid JSON");
});

test("mem:// copies bytes in and out: changing a Buffer put or got leaves the stored object alone", async () => {
  const st = openStorage(`mem://copies-${Date.now()}`);
  const put = Buffer.from([1, 2, 3]);
  await st.put("k", put);
  put[0] = 99;
  const got = (await st.get("k")) as Uint8Array;
  expect([...got]).toEqual([1, 2, 3]);
  got[1] = 77;
  const ranged = (await st.get("k", { range: { start: 1, end: 3 } })) as Uint8Array;
  expect([...ranged]).toEqual([2, 3]);
  ranged[0] = 55;
  expect([...((await st.get("k")) as Uint8Array)]).toEqual([1, 2, 3]);
});
