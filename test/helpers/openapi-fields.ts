// Which fields of a manifest a Kubernetes version does not declare, from that version's published
// OpenAPI v3 schema (the files of k8s.io/kubernetes' api/openapi-spec/v3). The API server refuses
// such fields (strict field validation) or drops them silently; either way a manifest that uses one
// does not work on that version. Only declared-ness is checked: types and feature gates are not.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface Schema {
  $ref?: string;
  allOf?: Schema[];
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-group-version-kind"?: { group: string; version: string; kind: string }[];
}

export interface ApiSchema {
  /** The fields of `manifest` the version does not declare, as paths; throws for an unknown kind. */
  unknownFields(manifest: { apiVersion: string; kind: string }): string[];
}

export function loadApiSchema(dir: string): ApiSchema {
  const schemas: Record<string, Schema> = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
    const doc = JSON.parse(readFileSync(join(dir, file), "utf8")) as {
      components?: { schemas?: Record<string, Schema> };
    };
    Object.assign(schemas, doc.components?.schemas ?? {});
  }
  const byKind = new Map<string, Schema>();
  for (const schema of Object.values(schemas)) {
    for (const gvk of schema["x-kubernetes-group-version-kind"] ?? []) {
      byKind.set(`${gvk.group ? `${gvk.group}/` : ""}${gvk.version}/${gvk.kind}`, schema);
    }
  }
  const resolve = (schema: Schema): Schema => {
    if (schema.$ref) return resolve(schemas[schema.$ref.replace("#/components/schemas/", "")] ?? {});
    // A reference with a description or default beside it is written allOf: [{ $ref }].
    if (schema.allOf?.length === 1 && !schema.properties) return resolve(schema.allOf[0] as Schema);
    return schema;
  };
  const walk = (value: unknown, given: Schema, path: string, problems: string[]): void => {
    const schema = resolve(given);
    if (schema["x-kubernetes-preserve-unknown-fields"] || value === null || typeof value !== "object") return;
    if (Array.isArray(value)) {
      const items = schema.items;
      if (items) {
        for (const [i, v] of value.entries()) walk(v, items, `${path}[${i}]`, problems);
      }
      return;
    }
    for (const [key, v] of Object.entries(value)) {
      const field = schema.properties?.[key];
      if (field) walk(v, field, `${path}.${key}`, problems);
      else if (typeof schema.additionalProperties === "object")
        walk(v, schema.additionalProperties, `${path}.${key}`, problems);
      else if (schema.properties) problems.push(`${path}.${key}`);
    }
  };
  return {
    unknownFields(manifest) {
      const schema = byKind.get(`${manifest.apiVersion}/${manifest.kind}`);
      if (!schema) throw new Error(`${manifest.apiVersion} ${manifest.kind} is not served by this version`);
      const problems: string[] = [];
      walk(manifest, schema, manifest.kind, problems);
      return problems;
    },
  };
}
