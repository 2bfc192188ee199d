/**
 * Start-up time of the `ngpipe` command: `ngpipe --help` from the build
 * (what an installed package runs), against a bare `node -e ""` on the same
 * machine in the same run, alternating them, and the old way (`npm run
 * ngpipe` ran the sources through tsx). Wall time is what a user
 * waits; CPU time (user + system of the child) is what the start costs,
 * and stays meaningful when other processes load the machine.
 *
 *   npx tsx bench/cli-start.ts [runs]      # needs npm run build first
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";

const runs = Number(process.argv[2] ?? 15);
const bin = join(__dirname, "..", "packages", "cli", "dist", "bin.js");
if (!existsSync(bin)) throw new Error(`${bin} is missing: run npm run build first`);

/** Wall and CPU seconds of one run of node with `args`, from /usr/bin/time. */
function timed(args: string[]): { wall: number; cpu: number } {
  const r = spawnSync("/usr/bin/time", ["-f", "%e %U %S", process.execPath, ...args], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr}`);
  const [wall, user, sys] = r.stderr.trim().split("\n").pop()!.split(" ").map(Number);
  return { wall, cpu: user + sys };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cases: Record<string, string[]> = {
  "node -e ''": ["-e", ""],
  "ngpipe --help (dist/bin.js)": [bin, "--help"],
  // What `npm run ngpipe` ran before: tsx compiling the sources at every start.
  "ngpipe --help (tsx, src/bin.ts)": [
    "--require",
    "tsx/cjs",
    join(__dirname, "..", "packages", "cli", "src", "bin.ts"),
    "--help",
  ],
};
const samples: Record<string, { wall: number[]; cpu: number[] }> = {};
for (const name of Object.keys(cases)) samples[name] = { wall: [], cpu: [] };
const load = loadavg()[0];
for (let i = 0; i < runs; i++) {
  for (const [name, args] of Object.entries(cases)) {
    const t = timed(args);
    samples[name].wall.push(t.wall);
    samples[name].cpu.push(t.cpu);
  }
}
console.log(
  `${runs} alternating runs, load average ${load.toFixed(1)} -> ${loadavg()[0].toFixed(1)}`,
);
for (const [name, s] of Object.entries(samples))
  console.log(
    `${name.padEnd(30)} median wall ${median(s.wall).toFixed(2)} s, median CPU ${median(s.cpu).toFixed(2)} s`,
  );
