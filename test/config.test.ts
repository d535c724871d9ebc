import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { type ConfigSource, defaults, loadStackConfig } from "../config";

function source(values: Record<string, string>, secrets: string[] = []): ConfigSource {
  return { project: "wss", get: (k) => values[k], isSecret: (k) => secrets.includes(k) };
}

const external = {
  target: "external",
  hotEndpoint: "http://127.0.0.1:19000",
  hotAccessKey: "hot-admin",
  hotSecretKey: "hot-secret-value",
  coldEndpoint: "http://127.0.0.1:19001",
  coldAccessKey: "cold-admin",
  coldSecretKey: "cold-secret-value",
};
const externalSecrets = ["hotSecretKey", "coldSecretKey"];

async function unwrap<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply(resolve));
}

describe("loadStackConfig", () => {
  it("applies the documented defaults for the external target", async () => {
    const config = loadStackConfig(source(external, externalSecrets));
    expect(config.buckets).toEqual({
      uploads: "user-uploads",
      artifacts: "workflow-artifacts",
      versioning: false,
      ephemeral: false,
    });
    expect(config.lifecycle).toEqual({ tierName: "COLD", transitionDays: 30, minObjectSizeBytes: 10485760 });
    expect(config.external?.hot.publicEndpoint).toBe("http://127.0.0.1:19000");
    expect(config.external?.cold.endpointFromHot).toBe("http://127.0.0.1:19001");
    expect(config.kubernetes).toBeUndefined();
    expect(await unwrap(config.external?.hot.secretKey as pulumi.Output<string>)).toBe("hot-secret-value");
    expect(pulumi.Output.isInstance(config.external?.cold.secretKey)).toBe(true);
  });

  it("names every bad key, its value and what is allowed, in one error", () => {
    const bad = {
      ...external,
      transitionDays: "thirty",
      tierName: "cold",
      uploadsBucket: "Bad_Name",
      presignDefaultSeconds: "7200",
      hotEndpoint: "127.0.0.1:19000",
    };
    expect(() => loadStackConfig(source(bad, externalSecrets))).toThrowError(
      [
        "Invalid stack configuration:",
        '  - wss:uploadsBucket: "Bad_Name" is not valid; allowed: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit',
        '  - wss:tierName: "cold" is not valid; allowed: uppercase letters, digits, - and _, starting with a letter; not STANDARD or REDUCED_REDUNDANCY',
        '  - wss:transitionDays: "thirty" is not valid; allowed: an integer from 0 to 36500',
        '  - wss:presignDefaultSeconds: "7200" is not valid; it must not exceed presignMaxSeconds (3600)',
        '  - wss:hotEndpoint: "127.0.0.1:19000" is not valid; it must be an http(s) URL with a host and optional port, no path (e.g. http://127.0.0.1:9000)',
      ].join("\n"),
    );
  });

  it("refuses a secret stored in plain text and a missing one", () => {
    const { coldSecretKey: _omitted, ...withoutCold } = external;
    expect(() => loadStackConfig(source(withoutCold, []))).toThrowError(
      [
        "Invalid stack configuration:",
        "  - wss:hotSecretKey: is stored in plain text; set it with: pulumi config set --secret hotSecretKey",
        "  - wss:coldSecretKey: (not set) is required; set it with --secret",
      ].join("\n"),
    );
  });

  it("refuses an unknown target and identical bucket names", () => {
    expect(() =>
      loadStackConfig(source({ ...external, target: "docker", artifactsBucket: "user-uploads" }, externalSecrets)),
    ).toThrowError(/wss:target: "docker" is not valid; allowed: kubernetes, external[\s\S]*artifactsBucket/);
  });

  describe("kubernetes target", () => {
    const k8s = {
      minioImage: "workflow-studio/minio:2026-02-12-7aac2a2c5b7c",
      minioManagementEndpoint: "https://minio-admin.example.com",
      minioPublicEndpoint: "https://files.example.com",
      coldManagementEndpoint: "https://minio-cold-admin.example.com",
    };

    it("defaults to a standalone hot and cold MinIO in the project's namespace", () => {
      const config = loadStackConfig(source(k8s));
      expect(config.target).toBe("kubernetes");
      expect(config.kubernetes?.namespace).toBe(defaults.namespace);
      expect(config.kubernetes?.hot).toEqual({
        mode: "standalone",
        replicas: 1,
        drivesPerPod: 1,
        storageSize: "10Gi",
        storageClass: undefined,
      });
      expect(config.kubernetes?.cold.storageSize).toBe("50Gi");
    });

    it("requires at least four drives for a distributed cluster", () => {
      expect(() =>
        loadStackConfig(source({ ...k8s, minioMode: "distributed", minioReplicas: "3", minioDrivesPerPod: "1" })),
      ).toThrowError(
        'wss:minioReplicas: "3" is not valid; a distributed cluster needs replicas x drivesPerPod >= 4 (now 3 x 1)',
      );
      const ok = loadStackConfig(
        source({ ...k8s, minioMode: "distributed", minioReplicas: "2", minioDrivesPerPod: "2" }),
      );
      expect(ok.kubernetes?.hot).toMatchObject({ mode: "distributed", replicas: 2, drivesPerPod: 2 });
    });

    it("needs no live endpoints when it only renders manifests", () => {
      const config = loadStackConfig(source({ renderYamlTo: "out/manifests", minioImage: k8s.minioImage }));
      expect(config.kubernetes?.renderYamlTo).toBe("out/manifests");
    });

    it("requires a pinned MinIO image", () => {
      const pinned = { ...k8s, minioImage: "workflow-studio/minio@sha256:".padEnd(93, "a") };
      expect(loadStackConfig(source(pinned)).kubernetes?.minioImage).toBe(pinned.minioImage);
      for (const image of [undefined, "minio/minio", "minio/minio:latest"]) {
        expect(() => loadStackConfig(source({ ...k8s, minioImage: image as unknown as string }))).toThrowError(
          /wss:minioImage: .* is not valid; it is required and must be pinned/,
        );
      }
    });

    it("checks management sources as CIDRs", () => {
      expect(() => loadStackConfig(source({ ...k8s, managementSources: "10.0.0.0/8, office" }))).toThrowError(
        'wss:managementSources: "office" is not valid; allowed: comma-separated IPv4 CIDRs, e.g. 10.0.0.0/8',
      );
    });
  });
});

describe("Pulumi.yaml", () => {
  it("declares every default that config.ts applies, with the same value", () => {
    const text = readFileSync(join(__dirname, "..", "Pulumi.yaml"), "utf8");
    const declared = new Map<string, string>();
    for (const m of text.matchAll(/^ {2}(\w+):\n(?: {4}.*\n)*? {4}default: (.*)$/gm)) {
      declared.set(m[1] as string, (m[2] as string).replace(/^""$/, ""));
    }
    for (const [key, value] of Object.entries(defaults)) expect([key, declared.get(key)]).toEqual([key, String(value)]);
    const withoutDefault = [...declared].filter(([key, value]) => value !== "" && !(key in defaults));
    expect(withoutDefault).toEqual([]);
  });
});
