/** Spawning and killing worker processes for the crash and signal tests. */
import { type ChildProcess, spawn } from "node:child_process";
import { join, resolve } from "node:path";

const repoRoot = resolve(__dirname, "../../../..");
const script = join(__dirname, "worker.ts");

/** A worker process with its collected stdout. */
export interface Worker {
  child: ChildProcess;
  output: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when stdout contains `text`. */
  waitFor(text: string): Promise<void>;
}

/** Start `worker.ts` under tsx with these environment settings. */
export function startWorker(env: Record<string, string>): Worker {
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    cwd: repoRoot,
    env: { ...process.env, ...env, NODE_NO_WARNINGS: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const waiters: { text: string; resolve: () => void }[] = [];
  const w: Worker = {
    child,
    output: "",
    exited: new Promise((r) => child.on("exit", (code, signal) => r({ code, signal }))),
    waitFor: (text) =>
      new Promise((r) => {
        if (w.output.includes(text)) r();
        else waiters.push({ text, resolve: r });
      }),
  };
  let stderr = "";
  child.stdout!.on("data", (b: Buffer) => {
    w.output += b.toString();
    for (const x of waiters.splice(0)) {
      if (w.output.includes(x.text)) x.resolve();
      else waiters.push(x);
    }
  });
  child.stderr!.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  child.on("exit", (code) => {
    if (code && stderr) process.stderr.write(`worker ${child.pid} exited ${code}: ${stderr}\n`);
  });
  return w;
}

/**
 * Run workers until the queue is drained, SIGKILLing a random one at random
 * moments (`kills` times, each between `minMs` and `maxMs` after the victim
 * started polling) and starting a replacement each time.
 */
export async function runWithKills(
  count: number,
  env: Record<string, string>,
  kills: number,
  minMs: number,
  maxMs: number,
): Promise<{ killed: number; exitCodes: (number | null)[] }> {
  const live = new Set<Worker>();
  const codes: (number | null)[] = [];
  const add = () => {
    const w = startWorker(env);
    live.add(w);
    w.exited.then(({ code }) => {
      if (live.delete(w)) codes.push(code);
    });
  };
  for (let i = 0; i < count; i++) add();
  let killed = 0;
  while (killed < kills && live.size > 0) {
    // Prefer workers already running tasks; else wait for one to start.
    const busy = [...live].filter((w) => w.output.includes("started"));
    const victims = busy.length > 0 ? busy : [...live];
    const victim = victims[Math.floor(Math.random() * victims.length)];
    await Promise.race([victim.waitFor("started"), victim.exited]);
    await new Promise((r) => setTimeout(r, minMs + Math.random() * (maxMs - minMs)));
    if (!live.has(victim)) continue;
    live.delete(victim);
    victim.child.kill("SIGKILL");
    await victim.exited;
    killed++;
    add();
  }
  while (live.size > 0) await Promise.race([...live].map((w) => w.exited));
  return { killed, exitCodes: codes };
}
