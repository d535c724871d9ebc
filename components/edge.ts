// What the API's and MinIO's public Ingresses share, so both are published the same way: through
// the cluster's ingress controller by class, with TLS, routing only the paths they name, and with
// the streaming settings of rules/ingress.ts. Also the NetworkPolicy peer for pods elsewhere, and
// the Services' spec (ClusterIP, or a NodePort when one is asked for).
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { DEFAULT_INGRESS_CLASS, type IngressPath, streamingAnnotations } from "../rules/ingress";
import type { NamespacedPods } from "../rules/kubernetes";

/** How a host is published through the cluster's ingress controller. */
export interface PublicIngressArgs {
  /** The host name clients use. */
  host: string;
  /** The IngressClass of the controller that serves it. Default "nginx" (ingress-nginx). */
  className?: string;
  /**
   * A `kubernetes.io/tls` Secret in the namespace holding the host's certificate. Default none:
   * plain HTTP, which the stack's config refuses unless `ingressAllowPlainHttp` says otherwise.
   */
  tlsSecretName?: string;
}

/**
 * One NetworkPolicy peer: pods with `podLabels` in namespaces with `namespaceLabels`. Both selectors
 * sit in the same peer, so both must match; as two peers they would admit either, i.e. every pod of
 * those namespaces and pods with those labels in our own.
 */
export function namespacedPeer(pods: NamespacedPods) {
  return {
    namespaceSelector: { matchLabels: pods.namespaceLabels },
    podSelector: { matchLabels: pods.podLabels },
  };
}

/**
 * An Ingress for `ingress.host` that sends only `paths` to one port of a Service, with TLS when a
 * Secret is named, and the streaming settings for requests of up to `largestRequestBytes`.
 * Whatever else arrives for the host matches no rule and gets the controller's default backend (404).
 */
export function streamingIngress(
  name: string,
  p: {
    metadata: { name: string; namespace: pulumi.Input<string>; labels: Record<string, string> };
    ingress: PublicIngressArgs;
    paths: readonly IngressPath[];
    service: { name: pulumi.Input<string>; port: number };
    largestRequestBytes: number;
  },
  opts: pulumi.CustomResourceOptions,
): k8s.networking.v1.Ingress {
  const { host, tlsSecretName } = p.ingress;
  return new k8s.networking.v1.Ingress(
    name,
    {
      metadata: { ...p.metadata, annotations: streamingAnnotations(p.largestRequestBytes) },
      spec: {
        ingressClassName: p.ingress.className ?? DEFAULT_INGRESS_CLASS,
        tls: tlsSecretName ? [{ hosts: [host], secretName: tlsSecretName }] : undefined,
        rules: [
          {
            host,
            http: {
              paths: p.paths.map(({ path, pathType }) => ({
                path,
                pathType,
                backend: { service: { name: p.service.name, port: { number: p.service.port } } },
              })),
            },
          },
        ],
      },
    },
    opts,
  );
}

/** A Service port as the two Services of ours take it. */
export interface ServicePort {
  name: string;
  port: number;
  targetPort: number;
}

/**
 * A Service's spec: ClusterIP, or NodePort with the given port when one is set (a local cluster's
 * host reaches the pods on the node's address; the Ingress is the way in for everyone else).
 */
export function serviceSpec(selector: Record<string, string>, port: ServicePort, nodePort?: number) {
  return nodePort === undefined
    ? { type: "ClusterIP", selector, ports: [port] }
    : { type: "NodePort", selector, ports: [{ ...port, nodePort }] };
}
