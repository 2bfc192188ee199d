/**
 * Deterministic fault injection shared by the loopback test servers: the GCS
 * server ({@link GcsLoopbackServer}) and the HTTP proxy put in front of moto
 * ({@link FaultProxy}). Each request draws one fault (or none) from a seeded
 * generator, so a failing test replays the same faults.
 */

/** Which faults to inject, as shares of requests (0..1) and fixed keys. */
export interface FaultPlan {
  /** Share of requests answered `503 Service Unavailable`. */
  unavailable?: number;
  /** Share of requests whose connection is destroyed without an answer. */
  drop?: number;
  /** Share of successful object downloads whose body has one byte flipped (checksums unchanged). */
  corrupt?: number;
  /** Object keys (names inside the bucket) that always answer `403 Forbidden`. */
  forbidden?: Iterable<string>;
  /** Delay before every answer, ms: a network round trip for benchmarks and timeout tests. */
  latencyMs?: number;
  /** Seed of the generator. Default 1. */
  seed?: number;
}

/** The fault drawn for one request. */
export type Fault = "unavailable" | "drop" | "corrupt" | "forbidden" | null;

/** Counts of the faults injected so far. */
export interface FaultCounts {
  unavailable: number;
  drop: number;
  corrupt: number;
  forbidden: number;
}

/** Draws faults for requests according to a {@link FaultPlan}. */
export class FaultInjector {
  private plan: FaultPlan = {};
  private forbidden = new Set<string>();
  private state = 1;
  /** How many faults of each kind were injected since the last `setPlan`. */
  counts: FaultCounts = { unavailable: 0, drop: 0, corrupt: 0, forbidden: 0 };

  constructor(plan: FaultPlan = {}) {
    this.setPlan(plan);
  }

  /** The delay before every answer, ms (0 for none). */
  get latencyMs(): number {
    return this.plan.latencyMs ?? 0;
  }

  /** Replace the plan and reset the counters and the generator. */
  setPlan(plan: FaultPlan): void {
    this.plan = plan;
    this.forbidden = new Set(plan.forbidden ?? []);
    this.state = (plan.seed ?? 1) >>> 0 || 1;
    this.counts = { unavailable: 0, drop: 0, corrupt: 0, forbidden: 0 };
  }

  /**
   * The fault for a request on `key` (undefined for bucket-level requests).
   * `download` says whether the answer would carry object bytes that can be
   * corrupted.
   */
  draw(key: string | undefined, download: boolean): Fault {
    if (key !== undefined && this.forbidden.has(key)) {
      this.counts.forbidden++;
      return "forbidden";
    }
    const r = this.random();
    const unavailable = this.plan.unavailable ?? 0;
    const drop = this.plan.drop ?? 0;
    const corrupt = download ? (this.plan.corrupt ?? 0) : 0;
    let fault: Fault = null;
    if (r < unavailable) fault = "unavailable";
    else if (r < unavailable + drop) fault = "drop";
    else if (r < unavailable + drop + corrupt) fault = "corrupt";
    if (fault) this.counts[fault]++;
    return fault;
  }

  /** mulberry32: small, fast, good enough to spread faults. */
  private random(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** Flip one byte in the middle of `body` (a copy; the input is not changed). */
export function corruptBytes(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body);
  if (out.length > 0) out[out.length >> 1] ^= 0xff;
  return out;
}
