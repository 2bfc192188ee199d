/** Helpers of the label stages' tests: run a multi-phase stage in order. */

import type { TaskPhase } from "../registry/stage";
import { createTaskContext } from "../runtime";
import { runAll } from "../stages/testing";

/** Run each phase's tasks to the end before making the next phase's. */
export async function runPhases(phases: TaskPhase[]): Promise<void> {
  const ctx = createTaskContext();
  for (const phase of phases) await runAll((await phase.tasks()) as Iterable<unknown>, ctx);
}
