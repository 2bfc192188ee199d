/**
 * Regenerate the option reference of docs/cli.md from the `ngpipe` program
 * itself: the text between the GENERATED markers is replaced by every
 * command's `--help` output, so the page cannot drift from the code.
 *
 *   npx tsx scripts/cli-reference.ts          # rewrite docs/cli.md
 *   npx tsx scripts/cli-reference.ts --check  # exit 1 if docs/cli.md is stale
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildProgram } from "../packages/cli/src/program";

/** The CLI's own commander `Command` (its version, not whatever the root resolves). */
type Command = ReturnType<typeof buildProgram>;

const BEGIN = "<!-- BEGIN GENERATED: npx tsx scripts/cli-reference.ts -->";
const END = "<!-- END GENERATED -->";

function walk(cmd: Command, path: string[], out: string[]): void {
  cmd.configureHelp({ helpWidth: 100 });
  const name = [...path, cmd.name()].join(" ");
  if (path.length > 0) {
    out.push(`### \`${name}\``, "", "```text", cmd.helpInformation().trimEnd(), "```", "");
  }
  for (const sub of cmd.commands) {
    if (sub.name() === "help") continue;
    walk(sub, [...path, cmd.name()], out);
  }
}

export function cliReference(): string {
  const program = buildProgram();
  program.configureHelp({ helpWidth: 100 });
  const out = [
    "## Option reference",
    "",
    "Generated from the program's own `--help` output; regenerate with",
    "`npx tsx scripts/cli-reference.ts`.",
    "",
    "```text",
    program.helpInformation().trimEnd(),
    "```",
    "",
  ];
  walk(program, [], out);
  return out.join("\n");
}

const file = join(__dirname, "..", "docs", "cli.md");
const text = readFileSync(file, "utf8");
const a = text.indexOf(BEGIN);
const b = text.indexOf(END);
if (a < 0 || b < a) throw new Error(`${file}: missing the ${BEGIN} ... ${END} markers`);
const next = `${text.slice(0, a + BEGIN.length)}\n\n${cliReference()}\n${text.slice(b)}`;
if (process.argv.includes("--check")) {
  if (next !== text) {
    console.error(`${file} is stale: run npx tsx scripts/cli-reference.ts`);
    process.exit(1);
  }
} else {
  writeFileSync(file, next);
  console.log(`updated ${file}`);
}
