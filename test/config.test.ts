import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { type ConfigSource, defaults, loadStackConfig } from "../config";
import { DEFAULT_MAX_CONCURRENT_UPLOADS, DEFAULT_REGION, MAX_CONCURRENT_UPLOADS_LIMIT } from "../rules/api-settings";
import { BUCKET_NAME_RULE } from "../rules/buckets";
import { TIER_NAME_RULE } from "../rules/tiers";

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

/** The configuration error's message (the test fails when there is none). */
function failure(values: Record<string, string>, secrets: string[] = []): string {
  try {
    loadStackConfig(source(values, secrets));
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("the configuration was accepted");
}

const studioKey = "studio-key-0123456789abcdef";
const apiKeysJson = (keys: unknown[]) => JSON.stringify(keys);

describe("loadStackConfig", () => {
  it("applies the documented defaults for the external target", async () => {
    const config = loadStackConfig(source(external, externalSecrets));
    expect(config.buckets).toEqual({
      uploads: "user-uploads",
      artifacts: "workflow-artifacts",
      versioning: false,
      ephemeral: false,
      adoptExisting: false,
    });
    expect(config.lifecycle).toEqual({ tierName: "COLD", transitionDays: 30, minObjectSizeBytes: 10485760 });
    expect(config.external?.hot.publicEndpoint).toBe("http://127.0.0.1:19000");
    expect(config.external?.cold?.endpointFromHot).toBe("http://127.0.0.1:19001");
    expect(config.kubernetes).toBeUndefined();
    expect(await unwrap(config.external?.hot.secretKey as pulumi.Output<string>)).toBe("hot-secret-value");
    expect(pulumi.Output.isInstance(config.external?.cold?.secretKey)).toBe(true);
    expect(config.api.apiKeys).toBeUndefined();
    expect(config.api.minioRegion).toBe(DEFAULT_REGION);
    expect(config.api.maxConcurrentUploads).toBe(DEFAULT_MAX_CONCURRENT_UPLOADS);
    expect(config.warnings).toEqual([]);
  });

  it("refuses bucket names MinIO would refuse at create: '..', IP addresses and its reserved 'minio'", () => {
    for (const name of ["a..b", "192.168.1.1", "minio"]) {
      expect(() => loadStackConfig(source({ ...external, artifactsBucket: name }, externalSecrets)), name).toThrowError(
        `wss:artifactsBucket: "${name}" is not valid`,
      );
    }
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
        `  - wss:uploadsBucket: "Bad_Name" is not valid; allowed: ${BUCKET_NAME_RULE}`,
        `  - wss:tierName: "cold" is not valid; allowed: ${TIER_NAME_RULE}`,
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

  describe("apiKeys", () => {
    const withKeys = (text: string) => source({ ...external, apiKeys: text }, [...externalSecrets, "apiKeys"]);

    it("takes the API_KEYS JSON and keeps it a secret", async () => {
      const text = apiKeysJson([
        { name: "studio", key: studioKey, scopes: ["upload", "download"] },
        { name: "runner", key: "runner-key-0123456789abcdef", scopes: ["artifacts:read", "artifacts:write"] },
      ]);
      const config = loadStackConfig(withKeys(text));
      const keys = config.api.apiKeys as pulumi.Output<string>;
      expect(await pulumi.isSecret(keys)).toBe(true);
      expect(await unwrap(keys)).toBe(text);
    });

    it.each([
      [
        "text that is not JSON",
        `${studioKey},other-key-0123456789`,
        /apiKeys: \(secret, not shown\) is not valid; must be a JSON array/,
      ],
      [
        "a key shorter than 16 characters",
        apiKeysJson([{ name: "studio", key: "short-key", scopes: ["upload"] }]),
        /apiKeys: \(secret, not shown\) is not valid; key #1 \("studio"\): key is shorter than 16 characters/,
      ],
      [
        "a key with whitespace",
        apiKeysJson([{ name: "studio", key: "studio key 0123456789", scopes: ["upload"] }]),
        /apiKeys: \(secret, not shown\) is not valid; key #1 \("studio"\): key may hold only .*no whitespace/,
      ],
      [
        "an unknown scope",
        apiKeysJson([{ name: "studio", key: studioKey, scopes: ["upload", "delete"] }]),
        /apiKeys: \(secret, not shown\) is not valid; key #1 \("studio"\): unknown scope\(s\) "delete"/,
      ],
    ])("refuses %s, naming the key and never the secret", (_what, text, expected) => {
      const message = failure({ ...external, apiKeys: text }, [...externalSecrets, "apiKeys"]);
      expect(message).toMatch(expected);
      expect(message.match(/wss:apiKeys/g)).toHaveLength(1);
      for (const secret of ["short-key", "studio key 0123456789", studioKey, "other-key-0123456789"]) {
        expect(message).not.toContain(secret);
      }
    });

    it("lists every bad entry, each by position and name, in the one error", () => {
      const text = apiKeysJson([
        { name: "studio", key: studioKey, scopes: ["upload"] },
        { name: "runner", key: "tiny", scopes: ["artifacts:write"] },
        { name: "ci", key: "ci-key-0123456789abcdef", scopes: ["everything"] },
      ]);
      const message = failure({ ...external, apiKeys: text, transitionDays: "-1" }, [...externalSecrets, "apiKeys"]);
      expect(message).toContain('key #2 ("runner"): key is shorter than 16 characters');
      expect(message).toContain('key #3 ("ci"): unknown scope(s) "everything"');
      expect(message).toContain("wss:transitionDays");
      expect(message).not.toContain("tiny");
      expect(message).not.toContain("ci-key-0123456789abcdef");
    });

    it("still refuses keys stored in plain text", () => {
      const text = apiKeysJson([{ name: "studio", key: studioKey, scopes: ["upload"] }]);
      const message = failure({ ...external, apiKeys: text }, externalSecrets);
      expect(message).toContain(
        "wss:apiKeys: is stored in plain text; set it with: pulumi config set --secret apiKeys",
      );
      expect(message).not.toContain(studioKey);
    });
  });

  describe("minioRegion and apiMaxConcurrentUploads", () => {
    it("take a region name and a bounded integer", () => {
      const config = loadStackConfig(
        source({ ...external, minioRegion: "eu-west-1", apiMaxConcurrentUploads: "64" }, externalSecrets),
      );
      expect(config.api.minioRegion).toBe("eu-west-1");
      expect(config.api.maxConcurrentUploads).toBe(64);
      const limits = [1, MAX_CONCURRENT_UPLOADS_LIMIT].map(
        (n) =>
          loadStackConfig(source({ ...external, apiMaxConcurrentUploads: String(n) }, externalSecrets)).api
            .maxConcurrentUploads,
      );
      expect(limits).toEqual([1, MAX_CONCURRENT_UPLOADS_LIMIT]);
    });

    it.each(["0", String(MAX_CONCURRENT_UPLOADS_LIMIT + 1), "2.5", "many"])(
      "refuses apiMaxConcurrentUploads %s",
      (value) => {
        expect(failure({ ...external, apiMaxConcurrentUploads: value }, externalSecrets)).toContain(
          `wss:apiMaxConcurrentUploads: "${value}" is not valid; allowed: an integer from 1 to ${MAX_CONCURRENT_UPLOADS_LIMIT}`,
        );
      },
    );

    it.each(["EU-West-1", "eu west 1", "-eu", "a".repeat(64)])("refuses minioRegion %s", (value) => {
      expect(failure({ ...external, minioRegion: value }, externalSecrets)).toContain(
        `wss:minioRegion: "${value}" is not valid; allowed: 1-63 lowercase letters, digits and hyphens`,
      );
    });
  });

  describe("endpoint URLs", () => {
    it("refuses credentials in any endpoint, naming the key and never the password", () => {
      const message = failure(
        {
          ...external,
          hotEndpoint: "http://admin:hunter2-password@127.0.0.1:19000",
          coldEndpointFromHot: "https://tier:p/ss@minio-cold.internal:9000",
        },
        externalSecrets,
      );
      expect(message).toContain(
        'wss:hotEndpoint: "http://***@127.0.0.1:19000" is not valid; it must not hold credentials (user:password@host)',
      );
      expect(message).toContain('wss:coldEndpointFromHot: "https://***@minio-cold.internal:9000" is not valid');
      for (const secret of ["hunter2", "admin:", "p/ss", "tier"]) expect(message).not.toContain(secret);
      // hotPublicEndpoint falls back to hotEndpoint: one problem, not the same one twice.
      expect(message).not.toContain("hotPublicEndpoint");
    });

    it.each([
      ["hotPublicEndpoint", "https://files.example.com/storage"],
      ["hotPublicEndpoint", "https://files.example.com?bucket=x"],
      ["coldEndpoint", "http://127.0.0.1:19001/"],
      ["hotEndpoint", "ftp://127.0.0.1:19000"],
      ["hotEndpoint", "http://127.0.0.1:99999"],
    ])("refuses %s %s", (key, value) => {
      expect(failure({ ...external, [key]: value }, externalSecrets)).toMatch(
        new RegExp(`wss:${key}: "${value.replace(/[?.]/g, "\\$&")}" is not valid; it must`),
      );
    });
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
        nodePort: undefined,
      });
      expect(config.kubernetes?.cold?.storageSize).toBe("50Gi");
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

    it("checks CORS origins as a browser writes them", () => {
      const config = loadStackConfig(
        source({ ...k8s, corsAllowedOrigins: "https://studio.example.com, http://127.0.0.1:18080" }),
      );
      expect(config.api.corsOrigins).toEqual(["https://studio.example.com", "http://127.0.0.1:18080"]);
      expect(() =>
        loadStackConfig(source({ ...k8s, corsAllowedOrigins: "https://studio.example.com/app" })),
      ).toThrowError(/wss:corsAllowedOrigins: "https:\/\/studio.example.com\/app" is not valid; it must have no path/);
    });

    it("checks management sources as CIDRs", () => {
      const config = loadStackConfig(
        source({ ...k8s, managementSources: "10.0.0.0/8, 192.168.1.0/24,10.20.30.40/32" }),
      );
      expect(config.kubernetes?.managementSources).toEqual(["10.0.0.0/8", "192.168.1.0/24", "10.20.30.40/32"]);
      expect(config.warnings).toEqual([]);
      expect(() => loadStackConfig(source({ ...k8s, managementSources: "10.0.0.0/8, office" }))).toThrowError(
        'wss:managementSources: "office" is not valid; it is not written a.b.c.d/n (decimal numbers, no leading zeros); allowed: comma-separated IPv4 CIDRs, e.g. 10.0.0.0/8',
      );
    });

    it("refuses CIDRs with numbers out of range or host bits set, listing each", () => {
      const message = failure({ ...k8s, managementSources: "10.0.0.300/8,10.0.0.0/33,10.0.0.1/8,010.0.0.0/8" });
      expect(message).toContain('wss:managementSources: "10.0.0.300/8" is not valid; octet 300 is above 255');
      expect(message).toContain('wss:managementSources: "10.0.0.0/33" is not valid; prefix /33 is longer than 32 bits');
      expect(message).toContain(
        'wss:managementSources: "10.0.0.1/8" is not valid; host bits are set beyond the /8 prefix (the network is 10.0.0.0/8)',
      );
      expect(message).toContain('wss:managementSources: "010.0.0.0/8" is not valid; it is not written a.b.c.d/n');
    });

    it("accepts 0.0.0.0/0 with a warning, without logging anything itself", () => {
      const config = loadStackConfig(source({ ...k8s, managementSources: "10.20.0.0/16,0.0.0.0/0" }));
      expect(config.kubernetes?.managementSources).toEqual(["10.20.0.0/16", "0.0.0.0/0"]);
      expect(config.warnings).toHaveLength(1);
      expect(config.warnings[0]).toMatch(/^wss:managementSources: "0.0.0.0\/0" admits every address/);
    });

    it("refuses credentials in the management and public endpoints without showing them", () => {
      const message = failure({
        ...k8s,
        minioManagementEndpoint: "https://root:minio-root-password@minio-admin.example.com",
        minioPublicEndpoint: "https://files.example.com/bucket?x=1",
        coldManagementEndpoint: "https://cold-root:cold-password@minio-cold-admin.example.com:443",
      });
      expect(message).toContain(
        'wss:minioManagementEndpoint: "https://***@minio-admin.example.com" is not valid; it must not hold credentials',
      );
      expect(message).toContain(
        'wss:minioPublicEndpoint: "https://files.example.com/bucket?x=1" is not valid; it must have no path, query or fragment',
      );
      expect(message).toContain('wss:coldManagementEndpoint: "https://***@minio-cold-admin.example.com:443"');
      for (const secret of ["minio-root-password", "cold-password", "root:"]) expect(message).not.toContain(secret);
    });

    it("publishes MinIO and the API on the NodePorts asked for, each its own; ships the bundle named", () => {
      const config = loadStackConfig(
        source({
          ...k8s,
          minioNodePort: "30900",
          coldNodePort: "30901",
          apiNodePort: "30980",
          apiBundlePath: "build/api.js",
        }),
      );
      expect(config.kubernetes?.hot.nodePort).toBe(30900);
      expect(config.kubernetes?.cold?.nodePort).toBe(30901);
      expect(config.kubernetes?.apiNodePort).toBe(30980);
      expect(config.kubernetes?.apiBundlePath).toBe("build/api.js");
      const message = failure({ ...k8s, minioNodePort: "30900", coldNodePort: "http", apiNodePort: "30900" });
      expect(message).toContain(
        'wss:coldNodePort: "http" is not valid; allowed: a port from 1 to 65535 (usually 30000-32767)',
      );
      expect(message).toContain(
        'wss:apiNodePort: "30900" is not valid; it is minioNodePort\'s too: each Service needs a NodePort of its own',
      );
    });

    describe("the public edge", () => {
      const apiTls = { apiIngressHost: "storage-api.example.com", apiIngressTlsSecret: "storage-api-tls" };
      const minioTls = { minioPublicIngress: "true", minioIngressTlsSecret: "files-tls" };

      it("defaults: ingress-nginx's class, its controller's and Prometheus' pods, no Ingress", () => {
        const config = loadStackConfig(source(k8s)).kubernetes;
        expect(config?.ingressClassName).toBe("nginx");
        expect(config?.ingressController).toEqual({
          namespaceLabels: { "kubernetes.io/metadata.name": "ingress-nginx" },
          podLabels: { "app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller" },
        });
        expect(config?.prometheus).toEqual({
          namespaceLabels: { "kubernetes.io/metadata.name": "monitoring" },
          podLabels: { "app.kubernetes.io/name": "prometheus" },
        });
        expect(config?.apiIngress).toBeUndefined();
        expect(config?.minioIngress).toBeUndefined();
      });

      it("publishes the API with TLS from the named Secret, under the configured class", () => {
        const config = loadStackConfig(source({ ...k8s, ...apiTls, ingressClassName: "public-nginx" }));
        expect(config.kubernetes?.apiIngress).toEqual({
          host: "storage-api.example.com",
          tlsSecretName: "storage-api-tls",
        });
        expect(config.kubernetes?.ingressClassName).toBe("public-nginx");
        expect(config.warnings).toEqual([]);
      });

      it("refuses an Ingress host without TLS, saying how to allow plain HTTP on purpose", () => {
        expect(failure({ ...k8s, apiIngressHost: "storage-api.example.com" })).toContain(
          "wss:apiIngressTlsSecret: (not set) is not valid; it is required with apiIngressHost: name the kubernetes.io/tls Secret holding storage-api.example.com's certificate, or set ingressAllowPlainHttp to true",
        );
        expect(failure({ ...k8s, minioPublicIngress: "true" })).toContain(
          "wss:minioIngressTlsSecret: (not set) is not valid; it is required with minioPublicIngress",
        );
      });

      it("with ingressAllowPlainHttp, publishes plain HTTP and warns, naming the host", () => {
        const config = loadStackConfig(
          source({ ...k8s, apiIngressHost: "storage-api.example.com", ingressAllowPlainHttp: "true" }),
        );
        expect(config.kubernetes?.apiIngress).toEqual({ host: "storage-api.example.com", tlsSecretName: undefined });
        expect(config.warnings).toHaveLength(1);
        expect(config.warnings[0]).toMatch(
          /^wss:ingressAllowPlainHttp: the API .* on storage-api.example.com is published over plain HTTP/,
        );
      });

      it("refuses a TLS Secret that would do nothing, and names that are not Kubernetes names", () => {
        const message = failure({
          ...k8s,
          apiIngressTlsSecret: "storage-api-tls",
          minioIngressTlsSecret: "files-tls",
          ingressClassName: "Public_Nginx",
        });
        expect(message).toContain(
          'wss:apiIngressTlsSecret: "storage-api-tls" is not valid; it needs apiIngressHost: without it there is no Ingress',
        );
        expect(message).toContain(
          'wss:minioIngressTlsSecret: "files-tls" is not valid; it needs minioPublicIngress: without it there is no Ingress',
        );
        expect(message).toContain(
          'wss:ingressClassName: "Public_Nginx" is not valid; allowed: the name of an IngressClass',
        );
        expect(failure({ ...k8s, ...apiTls, apiIngressTlsSecret: "tls/secret" })).toContain(
          'wss:apiIngressTlsSecret: "tls/secret" is not valid; allowed: the name of a kubernetes.io/tls Secret',
        );
      });

      it.each([
        ["10.0.0.1", "an Ingress host must be a DNS name, not an IP address"],
        ["Storage-API.example.com", "it must be lowercase letters, digits"],
        ["*.example.com", "it must be lowercase letters, digits"],
        ["storage-api.example.com:443", "an Ingress host is a DNS name alone: no port"],
      ])("refuses apiIngressHost %s", (host, expected) => {
        expect(failure({ ...k8s, ...apiTls, apiIngressHost: host })).toContain(
          `wss:apiIngressHost: "${host}" is not valid; ${expected}`,
        );
      });

      it("publishes MinIO for minioPublicEndpoint's host, its port aside", () => {
        const config = loadStackConfig(
          source({ ...k8s, ...minioTls, minioPublicEndpoint: "https://files.example.com:8443" }),
        );
        expect(config.kubernetes?.minioIngress).toEqual({ host: "files.example.com", tlsSecretName: "files-tls" });
      });

      it("MinIO's public Ingress: needs the public endpoint (also when rendering), as a DNS name, https with TLS", () => {
        expect(failure({ renderYamlTo: "out", minioImage: k8s.minioImage, ...minioTls })).toContain(
          "wss:minioPublicEndpoint: (not set) is not valid; it is required with minioPublicIngress: the Ingress serves its host",
        );
        expect(failure({ ...k8s, ...minioTls, minioPublicEndpoint: "https://192.168.10.20:9000" })).toContain(
          'wss:minioPublicEndpoint: "https://192.168.10.20:9000" is not valid; an Ingress host must be a DNS name, not an IP address: minioPublicIngress serves its host',
        );
        expect(failure({ ...k8s, ...minioTls, minioPublicEndpoint: "http://files.example.com" })).toContain(
          'wss:minioPublicEndpoint: "http://files.example.com" is not valid; it must be https:// when the public Ingress has TLS',
        );
        // Plain HTTP on purpose: TLS ends in front of the controller, the links may well be https.
        const plain = loadStackConfig(source({ ...k8s, minioPublicIngress: "true", ingressAllowPlainHttp: "true" }));
        expect(plain.kubernetes?.minioIngress).toEqual({ host: "files.example.com", tlsSecretName: undefined });
        expect(plain.warnings[0]).toMatch(
          /MinIO \(presigned links\) on files.example.com is published over plain HTTP/,
        );
      });

      it("refuses managing MinIO through its public host (no /minio/admin there) and one host for both Ingresses", () => {
        const message = failure({
          ...k8s,
          ...minioTls,
          minioManagementEndpoint: "https://files.example.com",
          ...apiTls,
          apiIngressHost: "files.example.com",
        });
        expect(message).toContain(
          "wss:minioManagementEndpoint: \"https://files.example.com\" is not valid; it must not be minioPublicEndpoint's host: pulumi up needs MinIO's admin API (/minio/admin/), which the public Ingress never routes",
        );
        expect(message).toContain(
          'wss:apiIngressHost: "files.example.com" is not valid; it must differ from minioPublicEndpoint\'s host',
        );
        // Without the public Ingress, nothing refuses /minio/ on that host: one endpoint for both is fine.
        const same = { ...k8s, minioManagementEndpoint: "https://files.example.com" };
        expect(loadStackConfig(source(same)).kubernetes?.hotManagementEndpoint).toBe("https://files.example.com");
      });

      it("reads the controllers' label selectors, and refuses what would select nothing or everything", () => {
        const config = loadStackConfig(
          source({
            ...k8s,
            prometheusNamespaceLabels: "kubernetes.io/metadata.name=observability",
            prometheusPodLabels: " app.kubernetes.io/name = prometheus , prometheus=k8s ",
          }),
        );
        expect(config.kubernetes?.prometheus).toEqual({
          namespaceLabels: { "kubernetes.io/metadata.name": "observability" },
          podLabels: { "app.kubernetes.io/name": "prometheus", prometheus: "k8s" },
        });
        const message = failure({
          ...k8s,
          prometheusNamespaceLabels: "monitoring",
          prometheusPodLabels: "app=prometheus,app=grafana",
          ingressControllerNamespaceLabels: ",",
          ingressControllerPodLabels: "app.kubernetes.io/name=ingress nginx",
        });
        expect(message).toContain(
          'wss:prometheusNamespaceLabels: "monitoring" is not valid; "monitoring" is not key=value; allowed: comma-separated key=value labels',
        );
        expect(message).toContain(
          'wss:prometheusPodLabels: "app=prometheus,app=grafana" is not valid; "app" is given twice',
        );
        expect(message).toContain('wss:ingressControllerNamespaceLabels: "," is not valid; "" is not key=value');
        expect(message).toContain(
          'wss:ingressControllerPodLabels: "app.kubernetes.io/name=ingress nginx" is not valid; "ingress nginx" is not a label value',
        );
      });
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

describe("coldKind s3: an S3 endpoint we are given as the cold tier", () => {
  const s3 = {
    coldKind: "s3",
    coldEndpoint: "https://s3.eu-west-1.amazonaws.com",
    coldBucket: "studio-cold-archive",
    coldRegion: "eu-west-1",
    coldAccessKey: "AKIAEXAMPLE",
    coldSecretKey: "bucket-scoped-secret",
  };

  it("external target: reads the endpoint, bucket, region and bucket-scoped keys; no cold MinIO", async () => {
    const { coldEndpoint: _, ...hotOnly } = external;
    const config = loadStackConfig(source({ ...hotOnly, ...s3 }, externalSecrets));
    expect(config.external?.cold).toBeUndefined();
    expect(config.coldS3).toMatchObject({
      endpoint: "https://s3.eu-west-1.amazonaws.com",
      bucket: "studio-cold-archive",
      region: "eu-west-1",
      accessKey: "AKIAEXAMPLE",
    });
    expect(await unwrap(config.coldS3?.secretKey as pulumi.Output<string>)).toBe("bucket-scoped-secret");
  });

  it("kubernetes target: no cold cluster and no cold management endpoint are asked for", () => {
    const config = loadStackConfig(
      source(
        {
          target: "kubernetes",
          minioImage: "registry.example/minio:pinned",
          minioManagementEndpoint: "https://minio-admin.example.com",
          minioPublicEndpoint: "https://files.example.com",
          ...s3,
        },
        ["coldSecretKey"],
      ),
    );
    expect(config.kubernetes?.cold).toBeUndefined();
    expect(config.kubernetes?.coldManagementEndpoint).toBeUndefined();
    expect(config.coldS3?.bucket).toBe("studio-cold-archive");
  });

  it("names what is missing or wrong: bucket, region, a plain-text secret", () => {
    const message = failure({ ...external, ...s3, coldBucket: "", coldRegion: "EU West" }, ["hotSecretKey"]);
    expect(message).toContain("wss:coldBucket");
    expect(message).toContain('wss:coldRegion: "EU West" is not valid');
    expect(message).toContain("wss:coldSecretKey: is stored in plain text");
  });

  it("refuses an unknown kind", () => {
    expect(failure({ ...external, coldKind: "azure" }, externalSecrets)).toContain(
      'wss:coldKind: "azure" is not valid',
    );
  });
});
