/**
 * Crash safety with real processes: workers SIGKILLed at random moments and
 * restarted must leave every task's effect present exactly once, none lost,
 * none left leased. Also: SIGTERM finishes the task in hand and exits 0.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { useMoto } from "../../../test/support/moto";
import { runWithKills, startWorker } from "./__tests__/processes";
import { FileQueue } from "./file";
import { openQueue } from "./open";

const moto = useMoto();
const root = mkdtempSync(join(tmpdir(), "ngpipe-crash-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function workspace(name: string) {
  const dir = join(root, name);
  const markers = join(dir, "markers");
  mkdirSync(markers, { recursive: true });
  return { dir, markers, log: join(dir, "executions.log") };
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `task-${i}`);

function checkEffects(markers: string, log: string, expected: string[]) {
  const present = readdirSync(markers).filter((f) => !f.startsWith("."));
  expect(present.sort()).toEqual([...expected].sort());
  const runs = readFileSync(log, "utf8").split("\n").filter(Boolean);
  const ran = new Set(runs);
  for (const id of expected) expect(ran.has(id)).toBe(true);
  return runs.length;
}

test("fq://: 1,000 tasks, 3 workers SIGKILLed at random and restarted: every effect exactly once", async () => {
  const w = workspace("fq");
  const q = new FileQueue(join(w.dir, "queue"));
  const all = ids(1000);
  await q.insert(all.map((id) => ({ name: "mark", id })));
  const env = {
    QUEUE_URL: q.url,
    MARKERS: w.markers,
    LOG: w.log,
    LEASE_SECONDS: "1",
    CONCURRENCY: "2",
    TASK_MS: "8",
  };
  const { killed, exitCodes } = await runWithKills(3, env, 6, 50, 400);
  // Kills are bounded; the last ones may come after the queue drained.
  expect(killed).toBeGreaterThanOrEqual(1);
  expect(exitCodes.every((c) => c === 0)).toBe(true);
  const executions = checkEffects(w.markers, w.log, all);
  expect(executions).toBeGreaterThanOrEqual(1000);
  expect(await q.status()).toMatchObject({ enqueued: 0, leased: 0, completed: 1000, dead: 0 });
  expect(readdirSync(join(q.dir, "queue"))).toEqual([]);
}, 90_000);

(moto.available ? test : test.skip)(
  "sqs:// (moto): 200 tasks, 2 workers with a 1 s lease SIGKILLed and restarted: every effect exactly once",
  async () => {
    const w = workspace("sqs");
    const q = await openQueue("sqs://crash-test", { endpoint: moto.endpoint, create: true });
    const all = ids(200);
    await q.insert(all.map((id) => ({ name: "mark", id })));
    const env = {
      QUEUE_URL: "sqs://crash-test",
      SQS_ENDPOINT: moto.endpoint,
      MARKERS: w.markers,
      LOG: w.log,
      LEASE_SECONDS: "1",
      CONCURRENCY: "2",
      TASK_MS: "10",
    };
    const { killed, exitCodes } = await runWithKills(2, env, 3, 50, 400);
    expect(killed).toBeGreaterThanOrEqual(1);
    expect(exitCodes.every((c) => c === 0)).toBe(true);
    checkEffects(w.markers, w.log, all);
    expect(await q.status()).toMatchObject({ enqueued: 0, leased: 0, dead: 0 });
    await q.close();
  },
  90_000,
);

test("SIGTERM mid-task: the task in hand finishes, nothing stays leased, the process exits 0", async () => {
  const w = workspace("sigterm");
  const q = new FileQueue(join(w.dir, "queue"));
  await q.insert(ids(5).map((id) => ({ name: "mark", id })));
  const worker = startWorker({
    QUEUE_URL: q.url,
    MARKERS: w.markers,
    LOG: w.log,
    CONCURRENCY: "1",
    TASK_MS: "600",
    LEASE_SECONDS: "30",
  });
  await worker.waitFor("started");
  worker.child.kill("SIGTERM");
  const { code } = await worker.exited;
  expect(code).toBe(0);
  const started = worker.output.match(/started \S+/g)!;
  expect(started).toHaveLength(1);
  expect(readdirSync(w.markers)).toEqual([started[0].slice("started ".length)]);
  expect(await q.status()).toMatchObject({ enqueued: 4, leased: 0, completed: 1 });
}, 30_000);

test("a second signal exits at once without finishing the task", async () => {
  const w = workspace("sigterm2");
  const q = new FileQueue(join(w.dir, "queue"));
  await q.insert(ids(1).map((id) => ({ name: "mark", id })));
  const worker = startWorker({
    QUEUE_URL: q.url,
    MARKERS: w.markers,
    LOG: w.log,
    TASK_MS: "5000",
    LEASE_SECONDS: "30",
  });
  await worker.waitFor("started");
  worker.child.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 100));
  worker.child.kill("SIGINT");
  const { code } = await worker.exited;
  expect(code).toBe(130);
  expect(readdirSync(w.markers)).toEqual([]);
}, 30_000);
