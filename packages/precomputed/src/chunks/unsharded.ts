/**
 * The unsharded layout: one object per chunk at
 * `<scale key>/<xmin>-<xmax>_<ymin>-<ymax>_<zmin>-<zmax>` (CloudVolume's
 * naming), stored with Content-Encoding or a `.gz`/`.br` suffix.
 */
import {
  backoffDelay,
  forEachLimit,
  isAbortError,
  PreconditionFailedError,
  type Storage,
  sleep,
} from "@ngpipe/storage";
import type { Scale } from "../info/info";
import { type ChunkFiles, chunkFilesOf } from "./files";
import type { ChunkCell, ChunkIoOptions, ChunkStore, StoredChunk } from "./store";

/** Conditional writes one {@link UnshardedChunkStore.update} tries before giving up. */
const UPDATE_ATTEMPTS = 50;

/** Options of {@link UnshardedChunkStore}. */
export interface UnshardedChunkStoreOptions {
  /** Requests in flight. Default 32. */
  concurrency?: number;
  /** Transport compression of written chunks (undefined: none). */
  writeCompression?: "gzip" | "br";
}

/** A scale stored as one object per chunk. */
export class UnshardedChunkStore implements ChunkStore {
  readonly sharded = false;
  readonly writeCompression: "gzip" | "br" | undefined;
  readonly acceptsSharedBytes: boolean;
  readonly files: ChunkFiles | undefined;
  private readonly concurrency: number;

  constructor(
    readonly storage: Storage,
    readonly scale: Scale,
    opts: UnshardedChunkStoreOptions = {},
  ) {
    this.concurrency = opts.concurrency ?? 32;
    this.writeCompression = opts.writeCompression;
    this.acceptsSharedBytes = storage.backend.acceptsSharedBytes === true;
    this.files = chunkFilesOf(storage, scale.key);
  }

  /** The storage key of a chunk: `<scale key>/<chunk name>`. */
  key(cell: ChunkCell): string {
    return `${this.scale.key}/${cell.bbox.toChunkName()}`;
  }

  async getMany(
    cells: readonly ChunkCell[],
    each: (cell: ChunkCell, chunk: StoredChunk | null) => Promise<void> | void,
    opts: ChunkIoOptions = {},
  ): Promise<void> {
    // One directory listing finds the stored form (`.gz`, ...) of every chunk on file://.
    const names = this.storage.batchNames();
    await forEachLimit(
      cells,
      opts.concurrency ?? this.concurrency,
      async (cell) => {
        const got = await this.storage.getRaw(this.key(cell), {
          signal: opts.signal,
          names,
          alloc: opts.alloc,
        });
        await each(
          cell,
          got === null ? null : { bytes: got.data, compression: got.info.contentEncoding },
        );
      },
      opts,
    );
  }

  async putMany(
    cells: readonly ChunkCell[],
    bytesOf: (cell: ChunkCell) => Promise<StoredChunk>,
    opts: ChunkIoOptions = {},
  ): Promise<void> {
    let done = 0;
    await forEachLimit(
      cells,
      opts.concurrency ?? this.concurrency,
      async (cell) => {
        const chunk = await bytesOf(cell);
        await this.storage.putRaw(this.key(cell), chunk.bytes, {
          contentEncoding: chunk.compression,
          signal: opts.signal,
        });
        opts.release?.(chunk.bytes);
        opts.onProgress?.(++done, cells.length);
      },
      opts,
    );
  }

  async existsMany(cells: readonly ChunkCell[], opts: ChunkIoOptions = {}): Promise<boolean[]> {
    const results = await this.storage.existsMany(
      cells.map((c) => this.key(c)),
      { signal: opts.signal, concurrency: opts.concurrency ?? this.concurrency },
    );
    return results.map((r) => {
      if (!r.ok) throw r.error;
      return r.value;
    });
  }

  async deleteMany(cells: readonly ChunkCell[], opts: ChunkIoOptions = {}): Promise<void> {
    const results = await this.storage.deleteMany(
      cells.map((c) => this.key(c)),
      { signal: opts.signal, concurrency: opts.concurrency ?? this.concurrency },
    );
    for (const r of results) if (!r.ok) throw r.error;
  }

  async update(
    cell: ChunkCell,
    modify: (chunk: StoredChunk | null) => Promise<StoredChunk>,
    opts: ChunkIoOptions = {},
  ): Promise<void> {
    const key = this.key(cell);
    const { signal } = opts;
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
      // The version comes from head, before the read: if the object changes in
      // between, the conditional put below fails and the loop reads it again.
      const head = await this.storage.head(key, { signal });
      const found = head === null ? null : await this.storage.getRaw(key, { signal });
      const chunk = await modify(
        found === null ? null : { bytes: found.data, compression: found.info.contentEncoding },
      );
      try {
        await this.storage.putRaw(key, chunk.bytes, {
          contentEncoding: chunk.compression,
          signal,
          ...(found !== null && head?.version !== undefined
            ? { ifVersion: head.version }
            : { ifAbsent: true }),
        });
        return;
      } catch (e) {
        if (!(e instanceof PreconditionFailedError) || isAbortError(e)) throw e;
      }
      await sleep(backoffDelay(attempt, 5, 500), signal);
    }
    throw new PreconditionFailedError(
      `read-modify-write of ${key} lost ${UPDATE_ATTEMPTS} races with other writers; giving up`,
      this.storage.url,
      key,
    );
  }

  clearCache(): void {}
}
