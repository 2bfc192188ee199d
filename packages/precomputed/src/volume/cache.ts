/** An LRU of decoded chunks bounded by bytes. */
import type { TypedArray } from "../dtypes";

/** Least-recently-used map of chunk key to decoded voxels with a byte budget. */
export class ChunkCache {
  private readonly map = new Map<string, TypedArray>();
  private bytes = 0;

  constructor(readonly budgetBytes: number) {}

  get(key: string): TypedArray | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: string, value: TypedArray): void {
    if (value.byteLength > this.budgetBytes) return;
    this.delete(key);
    this.map.set(key, value);
    this.bytes += value.byteLength;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.budgetBytes) break;
      this.map.delete(k);
      this.bytes -= v.byteLength;
    }
  }

  delete(key: string): void {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.bytes -= v.byteLength;
    }
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }

  /** Bytes held. */
  get size(): number {
    return this.bytes;
  }
}
