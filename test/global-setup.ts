import { buildBundle } from "../api/build.mts";

/**
 * Builds the API bundle (dist/api/server.js) once before any test file runs: the engine tests ship
 * it and run it, and two files building it side by side would race on the same output.
 */
export default async function setup(): Promise<void> {
  await buildBundle();
}
