import { openStorage } from "./open";
import { describeStorageConformance } from "./testing/conformance";
import { GcsLoopbackServer } from "./testing/gcs-server";

describeStorageConformance(
  "gs:// (loopback GCS server)",
  async () => {
    const conf = await GcsLoopbackServer.start();
    return {
      // 1 MiB threshold: the suite's large object goes through a resumable session.
      storage: openStorage("gs://conformance/root", {
        endpoint: conf.endpoint,
        multipartThreshold: 1024 * 1024,
      }),
      cleanup: () => conf.stop(),
    };
  },
  { metadata: true, largeBytes: 3 * 1024 * 1024 },
);
