#!/usr/bin/env node
import { closePool } from "@ngpipe/precomputed";
import { main } from "./program";

// The AWS SDK warns on every run under Node < 22 that its 2027 releases will
// need Node 22; ngpipe supports Node 20, so the command line shows it only
// with --verbose (or when the variable is set explicitly).
if (
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED === undefined &&
  !process.argv.includes("--verbose") &&
  !process.argv.includes("-v")
)
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

main(process.argv).then(async (code) => {
  await closePool();
  process.exitCode = code;
});
