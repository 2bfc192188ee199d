import {
  hasPiriform,
  PIRIFORM_PATH,
  PIRIFORM_SHAPE,
  readJsonFixture,
  readLabelsFixture,
  readPiriform,
} from "../fixtures.testutil";
import { watershed } from "./watershed";

interface PiriformFixture {
  thresholds: { low: number; high: number; merge: [number, number][] };
  counts: number[];
  background: number;
  mst: [number, number, number][];
  absolute: { low: number; high: number; merge: [number, number][]; dust: number };
}

const describePiriform = hasPiriform ? describe : describe.skip;
if (!hasPiriform) console.warn(`skipping piriform watershed tests: ${PIRIFORM_PATH} not found`);

describePiriform("watershed on piriform (Watershed.jl's defaults)", () => {
  let aff: Float32Array;
  let fixture: PiriformFixture;
  beforeAll(async () => {
    aff = await readPiriform();
    fixture = readJsonFixture<PiriformFixture>("piriform-watershed.json");
  });

  test("relative thresholds are the 10^6-bin histogram quantiles of the reference", () => {
    const r = watershed(aff, PIRIFORM_SHAPE);
    expect(r.thresholds).toEqual(fixture.thresholds);
  });

  test("labels equal the reference transliteration voxel for voxel", () => {
    const r = watershed(aff, PIRIFORM_SHAPE);
    const expected = readLabelsFixture("piriform-watershed.u32.gz");
    expect(r.labels.length).toBe(expected.length);
    let diff = 0;
    for (let i = 0; i < expected.length; i++) if (r.labels[i] !== expected[i]) diff++;
    expect(diff).toBe(0);
  });

  test("counts and the spanning tree equal the reference", () => {
    const r = watershed(aff, PIRIFORM_SHAPE);
    expect(r.regions).toBe(fixture.counts.length);
    expect(Array.from(r.counts)).toEqual([fixture.background, ...fixture.counts]);
    const mst = Array.from(r.mst.weight, (w, i) => [w, r.mst.a[i], r.mst.b[i]]);
    expect(mst).toEqual(fixture.mst);
  });

  test("uint8 affinities give the segmentation of their float32 values / 255", () => {
    const q = Uint8Array.from(aff, (v) => Math.round(v * 255));
    const f = Float32Array.from(q, (v) => v / 255);
    const a = watershed(q, PIRIFORM_SHAPE, {
      relative: false,
      low: 0.2,
      high: 0.9,
      merge: [[100, 0.5]],
      dust: 50,
    });
    const b = watershed(f, PIRIFORM_SHAPE, {
      relative: false,
      low: 0.2,
      high: 0.9,
      merge: [[100, 0.5]],
      dust: 50,
    });
    expect(a.labels).toEqual(b.labels);
    expect(a.regions).toBeGreaterThan(1);
  });
});
