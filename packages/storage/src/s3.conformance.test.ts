import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { useMoto } from "../../../test/support/moto";
import { openStorage } from "./open";
import { describeStorageConformance } from "./testing/conformance";

const moto = useMoto();

if (moto.available) {
  describeStorageConformance(
    "s3:// (moto)",
    async () => {
      const admin = new S3Client({
        endpoint: moto.endpoint,
        forcePathStyle: true,
        region: "us-east-1",
      });
      await admin.send(new CreateBucketCommand({ Bucket: "conformance" }));
      admin.destroy();
      const storage = openStorage("s3://conformance/root", {
        endpoint: moto.endpoint,
        multipartThreshold: 5 * 1024 * 1024,
      });
      return { storage, cleanup: async () => storage.backend.close?.() };
    },
    // 6 MiB: above the 5 MiB threshold, so the suite's large object is a 2-part upload.
    { metadata: true, largeBytes: 6 * 1024 * 1024 },
  );
} else {
  test.skip("s3 conformance (moto is not installed)", () => {});
}
