#!/usr/bin/env node
import { closePool } from "@ngpipe/precomputed";
import { main } from "./program";

main(process.argv).then(async (code) => {
  await closePool();
  process.exitCode = code;
});
