// The stack config of the `external` target against a hot and a cold MinIO reached with their root
// keys: one list for the local stack (`pulumi config set`), the benchmark and the engine tests (the
// Automation API's config map), so the keys the program reads are named in one place.

/** A MinIO server as these callers know it. */
export interface MinioEndpoint {
  endpoint: string;
  accessKey: string;
  secretKey: string;
}

export interface StackSetting {
  /** The key without the project's namespace, e.g. `hotEndpoint`. */
  key: string;
  value: string;
  secret: boolean;
}

export function externalTargetSettings(hot: MinioEndpoint, cold: MinioEndpoint): StackSetting[] {
  return [
    { key: "target", value: "external", secret: false },
    { key: "hotEndpoint", value: hot.endpoint, secret: false },
    { key: "hotAccessKey", value: hot.accessKey, secret: false },
    { key: "hotSecretKey", value: hot.secretKey, secret: true },
    { key: "coldEndpoint", value: cold.endpoint, secret: false },
    { key: "coldAccessKey", value: cold.accessKey, secret: false },
    { key: "coldSecretKey", value: cold.secretKey, secret: true },
  ];
}

/** Settings as an Automation API config map (namespaced keys), with `extra` on top. */
export function toConfigMap(
  settings: StackSetting[],
  extra: Record<string, { value: string; secret?: boolean }> = {},
): Record<string, { value: string; secret?: boolean }> {
  const map: Record<string, { value: string; secret?: boolean }> = {};
  for (const s of settings) {
    map[`workflow-studio-storage:${s.key}`] = s.secret ? { value: s.value, secret: true } : { value: s.value };
  }
  return { ...map, ...extra };
}

/** The external target's settings as an Automation API config map, with `extra` on top. */
export function externalTargetConfigMap(
  hot: MinioEndpoint,
  cold: MinioEndpoint,
  extra: Record<string, { value: string; secret?: boolean }> = {},
): Record<string, { value: string; secret?: boolean }> {
  return toConfigMap(externalTargetSettings(hot, cold), extra);
}
