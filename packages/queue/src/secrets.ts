/**
 * AWS credentials for SQS from the secret file python-task-queue and Igneous
 * users already have: `aws-secret.json` (keys `AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY`, optional `AWS_SESSION_TOKEN` and
 * `AWS_DEFAULT_REGION`), looked up in `$CLOUD_VOLUME_DIR/secrets` (when set),
 * then `~/.cloudvolume/secrets`, then `~/.cloudfiles/secrets`. Without a file
 * the SDK's default chain applies (environment, profile, instance role).
 *
 * `@ngpipe/queue` depends on no other ngpipe package, so this is a small,
 * queue-specific reading of the convention `@ngpipe/storage` documents for
 * buckets (there without the per-bucket file names, which SQS has no use for).
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { QueueError } from "./errors";

/** Credentials and region read from a secret file, and where they came from. */
export interface SqsSecret {
  /** The file read. */
  path: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  region?: string;
}

/** The first `aws-secret.json` in the CloudVolume secret directories, or undefined. */
export function findAwsSecretFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const home = env.HOME || homedir();
  const candidates = [
    ...(env.CLOUD_VOLUME_DIR ? [join(env.CLOUD_VOLUME_DIR, "secrets")] : []),
    join(home, ".cloudvolume", "secrets"),
    join(home, ".cloudfiles", "secrets"),
  ].map((dir) => join(dir, "aws-secret.json"));
  return candidates.find((p) => existsSync(p));
}

/**
 * Reads the SQS credentials of `url`'s queue from `aws-secret.json`, or
 * returns undefined when there is no such file. A file that is not a JSON
 * object with both keys is a {@link QueueError} naming the file (never its
 * content).
 */
export function readSqsSecret(
  url: string,
  env: NodeJS.ProcessEnv = process.env,
): SqsSecret | undefined {
  const path = findAwsSecretFile(env);
  if (!path) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new QueueError(
      `AWS secret file ${path} is not readable JSON (${(err as Error).name}); needed for ${url}`,
      url,
    );
  }
  const o = (json && typeof json === "object" ? json : {}) as Record<string, unknown>;
  const id = o.AWS_ACCESS_KEY_ID;
  const secret = o.AWS_SECRET_ACCESS_KEY;
  if (typeof id !== "string" || typeof secret !== "string")
    throw new QueueError(
      `AWS secret file ${path} needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (for ${url})`,
      url,
    );
  const token = o.AWS_SESSION_TOKEN;
  const region = o.AWS_DEFAULT_REGION;
  return {
    path,
    credentials: {
      accessKeyId: id,
      secretAccessKey: secret,
      ...(typeof token === "string" ? { sessionToken: token } : {}),
    },
    region: typeof region === "string" ? region : undefined,
  };
}
