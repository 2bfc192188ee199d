import { join, relative } from "node:path";
import { openQueue } from "@ngpipe/queue";
import { cliTestbed } from "./capture.testutil";
import { buildProgram } from "./program";

const cli = cliTestbed("ngpipe-queue-cli-");
const { ngpipe } = cli;

beforeAll(() => {});

/** A bare-path queue whose two tasks name no known task, so each dies on its first attempt. */
async function queueWithDeadTasks(name: string): Promise<string> {
  const dir = join(cli.tmp, name);
  await (await openQueue(dir)).insert([
    { name: "no-such-task", id: "d1" },
    { name: "no-such-task", id: "d2", params: { n: 2 } },
  ]);
  expect(await ngpipe("execute", dir, "--exit-when-empty", "--max-attempts", "1")).toBe(1);
  cli.clear();
  return dir;
}

describe("queue dead and queue redrive", () => {
  test("queue dead prints one line per dead task: id, name and error message", async () => {
    const dir = await queueWithDeadTasks("dead-list");
    expect(await ngpipe("queue", "dead", dir)).toBe(0);
    const lines = cli.out.trimEnd().split("\n").sort();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^d1\tno-such-task\t.*no-such-task/);
    expect(lines[1]).toMatch(/^d2\tno-such-task\t.*no-such-task/);
    cli.clear();
    expect(await ngpipe("queue", "dead", `fq://${dir}`, "--limit", "1")).toBe(0);
    expect(cli.out.trimEnd().split("\n")).toHaveLength(1);
  });

  test("queue redrive sends dead tasks back, --limit at a time, and prints how many", async () => {
    const dir = await queueWithDeadTasks("redrive");
    expect(await ngpipe("queue", "redrive", dir, "--limit", "1")).toBe(0);
    expect(cli.out).toBe(`sent 1 task(s) back to fq://${dir}\n`);
    expect(await (await openQueue(dir)).status()).toMatchObject({ enqueued: 1, dead: 1 });
    cli.clear();
    expect(await ngpipe("queue", "redrive", dir)).toBe(0);
    expect(cli.out).toBe(`sent 1 task(s) back to fq://${dir}\n`);
    const [a, b] = await (await openQueue(dir)).lease({ seconds: 30, count: 5 });
    expect([a.task.id, b.task.id].sort()).toEqual(["d1", "d2"]);
    expect([a.attempt, b.attempt]).toEqual([1, 1]);
    cli.clear();
    expect(await ngpipe("queue", "dead", dir)).toBe(0);
    expect(cli.out).toBe("");
  });

  test("--limit must be a whole number", async () => {
    expect(await ngpipe("queue", "redrive", join(cli.tmp, "x"), "--limit", "-1")).toBe(2);
    expect(cli.err).toMatch(/UsageError: --limit must be a whole number ≥ 0; got "-1"/);
  });
});

test("queue commands take a bare path, relative or absolute, for an fq:// queue", async () => {
  const dir = join(cli.tmp, "bare");
  await (await openQueue(`fq://${dir}`)).insert([{ name: "t" }, { name: "t" }]);
  expect(await ngpipe("queue", "status", relative(process.cwd(), dir))).toBe(0);
  expect(cli.out).toContain("enqueued: 2");
  cli.clear();
  expect(await ngpipe("queue", "status", dir)).toBe(0);
  expect(cli.out).toContain("enqueued: 2");
});

describe("execute accepts Igneous's spellings as hidden aliases", () => {
  test("-x and --exit-on-empty stop on an empty queue", async () => {
    const dir = join(cli.tmp, "empty");
    await openQueue(`fq://${dir}`, { create: true });
    expect(await ngpipe("execute", dir, "-x")).toBe(0);
    expect(await ngpipe("execute", dir, "--exit-on-empty")).toBe(0);
    expect(cli.err).toContain("stopped by empty");
  });

  test("--lease-sec and -p are read as --lease-seconds and --concurrency", async () => {
    const dir = join(cli.tmp, "aliases");
    await openQueue(`fq://${dir}`, { create: true });
    expect(await ngpipe("execute", dir, "-x", "--lease-sec", "0")).toBe(2);
    expect(cli.err).toMatch(/UsageError: --lease-sec must be a whole number ≥ 1; got "0"/);
    cli.clear();
    expect(await ngpipe("execute", dir, "-x", "-p", "0")).toBe(2);
    expect(cli.err).toMatch(/UsageError: -p must be a whole number ≥ 1; got "0"/);
    cli.clear();
    expect(await ngpipe("execute", dir, "-x", "--lease-sec", "30", "-p", "2")).toBe(0);
  });

  test("the aliases are not in the help", () => {
    const help = buildProgram()
      .commands.find((c) => c.name() === "execute")!
      .helpInformation();
    expect(help).toContain("--exit-when-empty");
    expect(help).not.toMatch(/-x\b|--exit-on-empty|--lease-sec\b|-p\b/);
  });
});
