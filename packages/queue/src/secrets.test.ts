import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { useMoto } from "../../../test/support/moto";
import { QueueError, QueueNotFoundError } from "./errors";
import { openQueue } from "./open";
import { findAwsSecretFile, readSqsSecret } from "./secrets";
import type { SqsQueue } from "./sqs";

const moto = useMoto();
const maybe = moto.available ? test : test.skip;

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "ngpipe-sqs-secret-"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function writeSecret(dir: string, body: unknown): string {
  mkdirSync(dir, { recursive: true });
  const p = join(dir, "aws-secret.json");
  writeFileSync(p, typeof body === "string" ? body : JSON.stringify(body));
  return p;
}

test("aws-secret.json is found in CLOUD_VOLUME_DIR, then ~/.cloudvolume, then ~/.cloudfiles", () => {
  const home = join(root, "home");
  const env = { HOME: home, CLOUD_VOLUME_DIR: join(root, "cv") };
  expect(findAwsSecretFile(env)).toBeUndefined();
  const files = writeSecret(join(home, ".cloudfiles", "secrets"), {});
  expect(findAwsSecretFile(env)).toBe(files);
  const volume = writeSecret(join(home, ".cloudvolume", "secrets"), {});
  expect(findAwsSecretFile(env)).toBe(volume);
  const cv = writeSecret(join(root, "cv", "secrets"), {});
  expect(findAwsSecretFile(env)).toBe(cv);
});

test("keys, session token and region are read; bad files are errors naming the file only", () => {
  const env = { HOME: join(root, "home"), CLOUD_VOLUME_DIR: root };
  const path = writeSecret(join(root, "secrets"), {
    AWS_ACCESS_KEY_ID: "AKIDFILE",
    AWS_SECRET_ACCESS_KEY: "file-secret",
    AWS_SESSION_TOKEN: "tok",
    AWS_DEFAULT_REGION: "eu-west-2",
  });
  expect(readSqsSecret("sqs://q", env)).toEqual({
    path,
    credentials: { accessKeyId: "AKIDFILE", secretAccessKey: "file-secret", sessionToken: "tok" },
    region: "eu-west-2",
  });
  writeSecret(join(root, "secrets"), { AWS_ACCESS_KEY_ID: "AKIDONLY" });
  const missing = (() => {
    try {
      readSqsSecret("sqs://q", env);
    } catch (e) {
      return e as QueueError;
    }
  })();
  expect(missing).toBeInstanceOf(QueueError);
  expect(missing?.message).toContain(path);
  expect(missing?.message).toContain("AWS_SECRET_ACCESS_KEY");
  expect(missing?.url).toBe("sqs://q");
  writeSecret(join(root, "secrets"), '{"AWS_SECRET_ACCESS_KEY": "do-not-print"');
  expect(() => readSqsSecret("sqs://q", env)).toThrow(path);
  try {
    readSqsSecret("sqs://q", env);
  } catch (e) {
    expect((e as Error).message).not.toContain("do-not-print");
  }
});

maybe("sqs:// queues use aws-secret.json's keys and region unless given others", async () => {
  const saved = process.env.CLOUD_VOLUME_DIR;
  process.env.CLOUD_VOLUME_DIR = root;
  writeSecret(join(root, "secrets"), {
    AWS_ACCESS_KEY_ID: "AKIDFILE",
    AWS_SECRET_ACCESS_KEY: "file-secret",
    AWS_DEFAULT_REGION: "eu-west-2",
  });
  try {
    const name = `secret-${Date.now()}`;
    const q = (await openQueue(`sqs://${name}`, {
      endpoint: moto.endpoint,
      create: true,
    })) as SqsQueue;
    expect((await q.client.config.credentials()).accessKeyId).toBe("AKIDFILE");
    expect(await q.client.config.region()).toBe("eu-west-2");
    await q.insert([{ name: "t", id: "a" }]);
    const [lease] = await q.lease({ seconds: 30 });
    expect(lease.task.id).toBe("a");
    await q.delete(lease);
    await q.close();

    // The file's region is really used: the queue exists in eu-west-2 only.
    await expect(
      openQueue(`sqs://${name}`, { endpoint: moto.endpoint, region: "us-west-1" }),
    ).rejects.toBeInstanceOf(QueueNotFoundError);
    const given = (await openQueue(`sqs://${name}`, {
      endpoint: moto.endpoint,
      region: "eu-west-2",
      credentials: { accessKeyId: "AKIDOPT", secretAccessKey: "opt" },
    })) as SqsQueue;
    expect((await given.client.config.credentials()).accessKeyId).toBe("AKIDOPT");
    expect((await given.status()).enqueued).toBe(0);
    await given.close();
  } finally {
    if (saved === undefined) delete process.env.CLOUD_VOLUME_DIR;
    else process.env.CLOUD_VOLUME_DIR = saved;
  }
});
