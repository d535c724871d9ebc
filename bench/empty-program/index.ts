// No resources: what a no-op `pulumi preview` costs before any program work.
export {};
