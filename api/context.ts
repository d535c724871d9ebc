// What every route plugin is given: configuration, the storage clients, metrics, and the two
// sources of non-determinism (time and ids), injectable so tests can predict object keys.
import type { Config } from "./config";
import type { Metrics } from "./metrics";
import type { Storage } from "./storage";

export interface ServiceContext {
  config: Config;
  storage: Storage;
  metrics: Metrics;
  now(): Date;
  newId(): string;
}
