/**
 * Cloud credentials found the way CloudFiles and CloudVolume users already
 * keep them, so an existing lab setup works unchanged:
 *
 * 1. `StorageOptions.credentials` when given (same JSON shape as the secret files);
 * 2. a secret file `<bucket>-google-secret.json` / `<bucket>-aws-secret.json`, then
 *    `google-secret.json` / `aws-secret.json`, each looked up in
 *    `$CLOUD_VOLUME_DIR/secrets` (when that variable is set), `~/.cloudvolume/secrets`
 *    and `~/.cloudfiles/secrets`, in that order;
 * 3. nothing: the SDK's default chain (Google ADC; AWS environment, profile, instance role).
 *
 * The files are read synchronously once per backend. Their content never goes
 * into an error message: a malformed file is reported by path only.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { StorageError } from "./errors";

/** Where a credential came from, for logs and tests (never the secret itself). */
export type CredentialSource = "options" | "file" | "default";

/** Directories searched for secret files, most preferred first. */
export function secretDirectories(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env.HOME || homedir();
  const dirs: string[] = [];
  if (env.CLOUD_VOLUME_DIR) dirs.push(join(env.CLOUD_VOLUME_DIR, "secrets"));
  dirs.push(join(home, ".cloudvolume", "secrets"), join(home, ".cloudfiles", "secrets"));
  return [...new Set(dirs)];
}

/**
 * Path of the secret file for `service` ("google" or "aws") and `bucket`:
 * the bucket-specific file anywhere wins over the generic one.
 */
export function findSecretFile(
  service: "google" | "aws",
  bucket: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const names = bucket ? [`${bucket}-${service}-secret.json`] : [];
  names.push(`${service}-secret.json`);
  const dirs = secretDirectories(env);
  for (const name of names) {
    for (const dir of dirs) {
      const path = join(dir, name);
      if (existsSync(path)) return path;
    }
  }
  return undefined;
}

function readSecret(path: string, url: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    // Only the path and the error class: the content may be half a secret.
    throw new StorageError(
      `credentials file ${path} is not valid JSON (${(err as Error).name})`,
      url,
    );
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new StorageError(`credentials file ${path} does not hold a JSON object`, url);
  }
  return parsed as Record<string, unknown>;
}

/** AWS credentials in the SDK's shape, plus the region of the secret file. */
export interface AwsCredentialConfig {
  source: CredentialSource;
  /** The file the credentials came from, for `source === "file"`. */
  path?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  region?: string;
}

/**
 * Credentials for an s3:// bucket. The JSON keys are CloudFiles':
 * `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, optional `AWS_SESSION_TOKEN`
 * and `AWS_DEFAULT_REGION`.
 */
export function resolveAwsCredentials(
  bucket: string,
  url: string,
  explicit?: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): AwsCredentialConfig {
  let source: CredentialSource = "default";
  let json = explicit;
  let path: string | undefined;
  if (json) source = "options";
  else {
    path = findSecretFile("aws", bucket, env);
    if (path) {
      json = readSecret(path, url);
      source = "file";
    }
  }
  if (!json) return { source };
  const id = json.AWS_ACCESS_KEY_ID ?? json.accessKeyId;
  const secret = json.AWS_SECRET_ACCESS_KEY ?? json.secretAccessKey;
  const token = json.AWS_SESSION_TOKEN ?? json.sessionToken;
  const region = json.AWS_DEFAULT_REGION ?? json.region;
  if (typeof id !== "string" || typeof secret !== "string") {
    throw new StorageError(
      `AWS credentials ${path ? `in ${path} ` : ""}need AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
      url,
    );
  }
  return {
    source,
    path,
    credentials: {
      accessKeyId: id,
      secretAccessKey: secret,
      ...(typeof token === "string" ? { sessionToken: token } : {}),
    },
    region: typeof region === "string" ? region : undefined,
  };
}

/** Google credentials in the client's shape (a service-account JSON) and its project. */
export interface GoogleCredentialConfig {
  source: CredentialSource;
  path?: string;
  credentials?: Record<string, unknown>;
  projectId?: string;
}

/** Credentials for a gs:// bucket: a service-account JSON (`google-secret.json`). */
export function resolveGoogleCredentials(
  bucket: string,
  url: string,
  explicit?: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): GoogleCredentialConfig {
  if (explicit) {
    return {
      source: "options",
      credentials: explicit,
      projectId: typeof explicit.project_id === "string" ? explicit.project_id : undefined,
    };
  }
  const path = findSecretFile("google", bucket, env);
  if (!path) return { source: "default" };
  const json = readSecret(path, url);
  return {
    source: "file",
    path,
    credentials: json,
    projectId: typeof json.project_id === "string" ? json.project_id : undefined,
  };
}
