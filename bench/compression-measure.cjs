"use strict";
// The timing loops of bench/compression.ts, in plain JavaScript so that the
// same code runs on the main thread and in a worker thread (which loads it
// without a TypeScript hook).
const zlib = require("node:zlib");
const fflate = require("fflate");

const SIZES = [4 << 10, 64 << 10, 1 << 20, 4 << 20];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

// Median seconds per call of each function, the functions alternating round by round.
function timeGroup(fns, rounds, size) {
  const reps = Math.max(1, Math.round((4 << 20) / size));
  const times = fns.map(() => []);
  for (const fn of fns) for (let i = 0; i < Math.min(reps, 4); i++) fn();
  for (let r = 0; r < rounds; r++) {
    fns.forEach((fn, j) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < reps; i++) fn();
      times[j].push(Number(process.hrtime.bigint() - t0) / 1e9 / reps);
    });
  }
  return times.map(median);
}

// Median seconds per call of an async function, one call at a time.
async function asyncLatency(fn, rounds, size) {
  const reps = Math.max(1, Math.round((4 << 20) / size));
  const times = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9 / reps);
  }
  return median(times);
}

const inflateOpts = (n) => (n > 32768 ? { chunkSize: 256 * 1024 } : {});
const gzipAsync = (b, o) =>
  new Promise((res, rej) => zlib.gzip(b, o, (e, r) => (e ? rej(e) : res(r))));
const gunzipAsync = (b, o) =>
  new Promise((res, rej) => zlib.gunzip(b, o, (e, r) => (e ? rej(e) : res(r))));

// One row per (data, size, op): MB/s of uncompressed bytes for zlib sync,
// fflate, and (on the main thread) zlib's async call.
async function measure(where, inputs, rounds) {
  const rows = [];
  const row = (kind, size, op, z, f, za) =>
    rows.push({
      where,
      kind,
      size,
      op,
      zlib: size / 1e6 / z,
      fflate: size / 1e6 / f,
      ratio: z / f,
      zlibAsync: za === undefined ? undefined : size / 1e6 / za,
    });
  for (const [kind, all] of inputs) {
    for (const size of SIZES) {
      const data = all.subarray(0, size).slice();
      for (const level of [6, 1]) {
        const [z, f] = timeGroup(
          [() => zlib.gzipSync(data, { level }), () => fflate.gzipSync(data, { level })],
          rounds,
          size,
        );
        const za =
          where === "main"
            ? await asyncLatency(() => gzipAsync(data, { level }), rounds, size)
            : undefined;
        row(kind, size, `gzip ${level}`, z, f, za);
      }
      const gz = zlib.gzipSync(data, { level: 6 });
      const [z, f] = timeGroup(
        [() => zlib.gunzipSync(gz, inflateOpts(gz.length)), () => fflate.gunzipSync(gz)],
        rounds,
        size,
      );
      const za =
        where === "main"
          ? await asyncLatency(() => gunzipAsync(gz, inflateOpts(gz.length)), rounds, size)
          : undefined;
      row(kind, size, "gunzip", z, f, za);
      const [dz, df] = timeGroup(
        [() => zlib.deflateSync(data, { level: 6 }), () => fflate.zlibSync(data, { level: 6 })],
        rounds,
        size,
      );
      row(kind, size, "deflate 6 (png)", dz, df);
      const zd = zlib.deflateSync(data, { level: 6 });
      const [iz, ifl] = timeGroup(
        [() => zlib.inflateSync(zd), () => fflate.unzlibSync(zd)],
        rounds,
        size,
      );
      row(kind, size, "inflate (png)", iz, ifl);
    }
  }
  return rows;
}

module.exports = { measure };

// In a worker: measure the inputs sent and post the rows back.
const { isMainThread, parentPort, workerData } = require("node:worker_threads");
if (!isMainThread && workerData?.compressionBench) {
  measure("worker", workerData.inputs, workerData.rounds).then((rows) =>
    parentPort.postMessage(rows),
  );
}
