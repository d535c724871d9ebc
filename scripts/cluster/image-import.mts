// Puts the cluster's images into containerd: each is written as an OCI archive (reproducible, so an
// unchanged image has the same digest) and imported only when containerd lacks that digest.
import { join } from "node:path";
import { clusterImages } from "./cluster-images.mts";
import { ctr } from "./containerd.mts";
import { writeImageArchive } from "./images.mts";
import type { ClusterPaths } from "./layout.mts";

/** The manifest digest containerd holds for each image reference. */
function importedDigests(paths: ClusterPaths): Map<string, string> {
  const rows = ctr(paths, ["images", "ls"]).split("\n").slice(1).filter(Boolean);
  // REF TYPE DIGEST SIZE PLATFORMS LABELS
  return new Map(rows.map((row) => row.split(/\s+/)).map(([ref = "", , digest = ""]) => [ref, digest]));
}

export async function importClusterImages(paths: ClusterPaths): Promise<void> {
  const have = importedDigests(paths);
  for (const spec of clusterImages()) {
    const started = Date.now();
    const file = join(paths.images, `${spec.name.replace(/[/:]/g, "_")}.tar`);
    const archive = await writeImageArchive(spec, file);
    if (have.get(archive.reference) === archive.digest) continue;
    ctr(paths, ["images", "import", file]);
    console.log(`   ${archive.reference} imported (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
}
