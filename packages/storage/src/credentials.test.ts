import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  findSecretFile,
  resolveAwsCredentials,
  resolveGoogleCredentials,
  secretDirectories,
} from "./credentials";
import { GcsBackend } from "./gcs";
import { S3Backend } from "./s3";
import { GcsLoopbackServer } from "./testing/gcs-server";

let home: string;

function writeSecret(dir: string, name: string, content: unknown): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), "ngpipe-creds-"));
});

afterEach(() => {
  rmSync(home, { recursive: true, force: true });
});

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

test("secret directories: $CLOUD_VOLUME_DIR/secrets first, then ~/.cloudvolume and ~/.cloudfiles", () => {
  expect(secretDirectories({ HOME: home })).toEqual([
    join(home, ".cloudvolume", "secrets"),
    join(home, ".cloudfiles", "secrets"),
  ]);
  expect(secretDirectories({ HOME: home, CLOUD_VOLUME_DIR: "/cv" })[0]).toBe("/cv/secrets");
});

test("the bucket-specific secret wins over the generic one, wherever each lives", () => {
  const env = { HOME: home };
  const generic = writeSecret(join(home, ".cloudvolume", "secrets"), "aws-secret.json", {});
  expect(findSecretFile("aws", "mybucket", env)).toBe(generic);
  const specific = writeSecret(
    join(home, ".cloudfiles", "secrets"),
    "mybucket-aws-secret.json",
    {},
  );
  expect(findSecretFile("aws", "mybucket", env)).toBe(specific);
  expect(findSecretFile("aws", "otherbucket", env)).toBe(generic);
  expect(findSecretFile("google", "mybucket", env)).toBeUndefined();
});

test("aws-secret.json keys become SDK credentials and region", () => {
  const env = { HOME: home };
  writeSecret(join(home, ".cloudvolume", "secrets"), "aws-secret.json", {
    AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
    AWS_SECRET_ACCESS_KEY: SECRET,
    AWS_DEFAULT_REGION: "eu-west-2",
  });
  const c = resolveAwsCredentials("b", "s3://b", undefined, env);
  expect(c.source).toBe("file");
  expect(c.credentials).toEqual({ accessKeyId: "AKIAEXAMPLE", secretAccessKey: SECRET });
  expect(c.region).toBe("eu-west-2");
});

test("explicit credentials win over files; no file means the SDK default chain", () => {
  const env = { HOME: home };
  expect(resolveAwsCredentials("b", "s3://b", undefined, env)).toEqual({ source: "default" });
  expect(resolveGoogleCredentials("b", "gs://b", undefined, env)).toEqual({ source: "default" });
  writeSecret(join(home, ".cloudvolume", "secrets"), "aws-secret.json", {
    AWS_ACCESS_KEY_ID: "FROMFILE",
    AWS_SECRET_ACCESS_KEY: "x",
  });
  const c = resolveAwsCredentials(
    "b",
    "s3://b",
    { AWS_ACCESS_KEY_ID: "EXPLICIT", AWS_SECRET_ACCESS_KEY: "y", AWS_SESSION_TOKEN: "t" },
    env,
  );
  expect(c.source).toBe("options");
  expect(c.credentials).toEqual({
    accessKeyId: "EXPLICIT",
    secretAccessKey: "y",
    sessionToken: "t",
  });
});

test("google-secret.json is the service account, its project_id the project", () => {
  const dir = join(home, "cv");
  const sa = {
    type: "service_account",
    project_id: "lab-project",
    client_email: "a@b",
    private_key: "k",
  };
  writeSecret(join(dir, "secrets"), "google-secret.json", sa);
  const c = resolveGoogleCredentials("b", "gs://b", undefined, {
    HOME: home,
    CLOUD_VOLUME_DIR: dir,
  });
  expect(c).toMatchObject({ source: "file", credentials: sa, projectId: "lab-project" });
});

test("a malformed secret file is reported by path, without its content", () => {
  writeSecret(
    join(home, ".cloudvolume", "secrets"),
    "aws-secret.json",
    `{"AWS_SECRET_ACCESS_KEY": "${SECRET}"`,
  );
  let message = "";
  try {
    resolveAwsCredentials("b", "s3://b", undefined, { HOME: home });
  } catch (e) {
    message = (e as Error).message;
  }
  expect(message).toContain("aws-secret.json");
  expect(message).not.toContain(SECRET);
  writeSecret(join(home, ".cloudvolume", "secrets"), "aws-secret.json", {
    AWS_SECRET_ACCESS_KEY: SECRET,
  });
  expect(() => resolveAwsCredentials("b", "s3://b", undefined, { HOME: home })).toThrow(
    /AWS_ACCESS_KEY_ID/,
  );
});

describe("secrets never reach error messages", () => {
  test("s3: a refused connection names the URL and key but not the secret", async () => {
    const backend = new S3Backend(
      { bucket: "bkt", prefix: "p" },
      {
        endpoint: "http://127.0.0.1:9", // discard port: nothing listens
        credentials: { AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY: SECRET },
      },
    );
    const err = await backend.get("some/key").catch((e) => e);
    await backend.close();
    expect(err.name).toBe("TransientError");
    expect(err.message).toContain("s3://bkt/p/some/key");
    const text = `${err.message} ${err.stack} ${JSON.stringify(err)} ${String(err.cause?.message)}`;
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain("AKIAIOSFODNN7EXAMPLE");
  });

  test("gs: a 403 from the server names the URL and key but not the private key", async () => {
    const server = await GcsLoopbackServer.start();
    const privateKey = "-----BEGIN PRIVATE KEY-----\nMIIEsecretsecret\n-----END PRIVATE KEY-----\n";
    writeSecret(join(home, ".cloudvolume", "secrets"), "google-secret.json", {
      type: "service_account",
      project_id: "p",
      client_email: "svc@p.iam.gserviceaccount.com",
      private_key: privateKey,
    });
    const oldHome = process.env.HOME;
    process.env.HOME = home;
    try {
      const backend = new GcsBackend({ bucket: "bkt", prefix: "" }, { endpoint: server.endpoint });
      server.faults.setPlan({ forbidden: ["k"] });
      const err = await backend.get("k").catch((e) => e);
      expect(err.name).toBe("PermissionDeniedError");
      expect(err.message).toContain("gs://bkt/k");
      const text = `${err.message} ${err.stack} ${JSON.stringify(err)} ${String(err.cause?.message)}`;
      expect(text).not.toContain("MIIEsecretsecret");
    } finally {
      process.env.HOME = oldHome;
      await server.stop();
    }
  });
});
