import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLifecycle, writeLifecycle } from "../../../components/providers/bucket-lifecycle";
import { buildDocument } from "../../../components/providers/lifecycle-document";
import { listTiers } from "../../../components/providers/minio-admin";
import { tierProvider } from "../../../components/providers/tier";
import { restartServer, stopServer } from "../../../scripts/local-minio.mts";
import { startTestMinio, type TestMinio } from "../../helpers/minio";
import { type Bag, untypedProvider } from "../../helpers/providers";
import { waitFor } from "../../helpers/wait";

const tier = untypedProvider(tierProvider);

// A distributed MinIO adds a tier to the answering node's memory before it saves the config. When the
// save fails (no write quorum, as on a cluster that is still starting), the add is answered with an
// error, and every later add on that node is told the tier already exists, though no disk and no
// other node holds it. CI met this on a fresh cluster: `pulumi up` failed on its first run.
describe("MinioTier create on a distributed MinIO that kept a tier it failed to save", () => {
  let env: TestMinio;
  let inputs: Bag;

  beforeAll(async () => {
    env = await startTestMinio({ distributed: true });
    const cold = env.server("cold");
    await env.client("cold").makeBucket("cold-tier");
    const checked = await tier.check(
      {},
      {
        connection: env.connection("node1"),
        name: "cold",
        type: "minio",
        endpoint: cold.endpoint,
        bucket: "cold-tier",
        credentials: { accessKey: cold.accessKey, secretKey: cold.secretKey },
      },
    );
    inputs = checked.inputs;
  });
  afterAll(async () => env?.stop());

  const listedBy = async (node: string) => (await listTiers(env.connection(node))).map((t) => t.name);
  const waitUntilListed = (node: string, name = "COLD", timeoutMs?: number) =>
    waitFor(
      `${node} to list tier ${name}`,
      async () => ((await listedBy(node).catch((): string[] => [])).includes(name) ? true : undefined),
      timeoutMs,
    );
  const stopTwoNodes = async () => {
    await stopServer(env.dir, "node3", 0);
    await stopServer(env.dir, "node4", 0);
  };
  // Together: a node that boots while another is still down can wait a minute for it.
  const restartTwoNodes = () =>
    Promise.all(["node3", "node4"].map((node) => restartServer({ dir: env.dir, distributed: true }, node)));

  it("create while the cluster cannot save finishes once it can and saves the tier: every node lists it, once restarted if it missed the word", async () => {
    await env.client("node1").makeBucket("artifacts");
    await stopTwoNodes();
    const creating = tier.create(inputs);
    // The add failed to save and left the tier in node1's memory (a fresh cluster has no tier config on
    // disk to reload over it): the retried add is told it already exists. The create keeps going.
    await waitUntilListed("node1");
    expect(await listedBy("node2")).toEqual([]);
    // A lifecycle written through node2 meanwhile waits until node2 hears of the tier.
    const doc = buildDocument({
      bucket: "artifacts",
      tier: "COLD",
      transitionDays: 30,
      prefix: "",
      minObjectSizeBytes: 0,
    });
    const lifecycleWritten = writeLifecycle(env.client("node2"), "artifacts", doc, 180_000);
    await restartTwoNodes();
    expect((await creating).id).toBe("COLD");
    await lifecycleWritten;
    expect(await readLifecycle(env.client("node3"), "artifacts")).toEqual(doc);
    // The other nodes reload the saved config in the background when node1 tells them. A node still
    // starting can miss that word (CI met node4 so) and would learn the tier only at MinIO's own
    // refresh, every 15 minutes. What the create guarantees is that the tier is saved: a node that
    // missed the word lists it once restarted, as node1 does below.
    const missed: string[] = [];
    await Promise.all(
      ["node2", "node3", "node4"].map((node) => waitUntilListed(node, "COLD", 30_000).catch(() => missed.push(node))),
    );
    await Promise.all(missed.map((node) => stopServer(env.dir, node)));
    await Promise.all(missed.map((node) => restartServer({ dir: env.dir, distributed: true }, node)));
    for (const node of missed) await waitUntilListed(node);
    await stopServer(env.dir, "node1");
    await restartServer({ dir: env.dir, distributed: true }, "node1");
    // A node loads the tier config from disk some moments after it reports ready.
    await waitUntilListed("node1");
  }, 300_000);

  it("through a node that never knew it, a second create finds it saved and takes it back", async () => {
    const again = await tier.create({ ...inputs, connection: env.connection("node3") });
    expect(again.id).toBe("COLD");
  });
});
