// Streaming into MinIO: single PUT for small files, multipart for large ones, and whatever goes
// wrong (verification refused, source failing, client gone) leaves no object and no pending upload.
import { randomBytes } from "node:crypto";
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { partBufferPool } from "../../api/part-buffers";
import { dataClient } from "../../api/storage";
import { MIN_PART_SIZE, PARTS_IN_FLIGHT, partSizeFor, streamToObject } from "../../api/stream-upload";
import { startCorruptingProxy } from "../helpers/corrupting-proxy";
import { readAll } from "../helpers/minio";
import { auth, BOUNDARY, fixedId, type Harness, listKeys, MiB, pendingUploads, startHarness, waitFor } from "./support";

let h: Harness;
let bucket: string;

beforeAll(async () => {
  h = await startHarness();
  bucket = h.config.buckets.uploads;
});
afterAll(async () => h?.close());

/** A stream of `total` random bytes in 64 KiB chunks, failing after `failAfter` bytes if given. */
function source(total: number, failAfter?: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (failAfter !== undefined && sent >= failAfter) {
        this.destroy(new Error("source failed"));
        return;
      }
      if (sent >= total) {
        this.push(null);
        return;
      }
      const n = Math.min(64 * 1024, total - sent);
      sent += n;
      this.push(randomBytes(n));
    },
  });
}

const headers = { "Content-Type": "application/octet-stream" };
/** Stage options that accept any size: what most tests here stream with. */
const accepting = { headers, partSize: MIN_PART_SIZE, verify: () => undefined };
const nothingLeft = async (key: string) => {
  expect(await listKeys(h.client, bucket, key)).toEqual([]);
  expect(await pendingUploads(h.client, bucket, key)).toEqual([]);
};

describe("streamToObject", () => {
  it("part size: S3's 5 MiB minimum, larger only when 10 000 parts would not hold the limit", () => {
    expect(partSizeFor(100 * MiB)).toBe(MIN_PART_SIZE);
    expect(partSizeFor(100_000 * MiB)).toBe(10 * MiB);
  });

  it("a file within one part is a single PUT", async () => {
    let verified = -1;
    const result = await streamToObject(h.apiClient, bucket, "uploads/stream/small.bin", source(1000), {
      headers,
      partSize: MIN_PART_SIZE,
      verify: (size) => {
        verified = size;
      },
    });
    expect(verified).toBe(1000);
    expect(result.size).toBe(1000);
    expect(result.etag).toMatch(/^[0-9a-f]{32}$/);
    expect((await readAll(await h.client.getObject(bucket, "uploads/stream/small.bin"))).length).toBe(1000);
  });

  it("a refused verification after parts were sent aborts the multipart upload", async () => {
    const key = "uploads/stream/refused.bin";
    await expect(
      streamToObject(h.apiClient, bucket, key, source(MIN_PART_SIZE + 10), {
        headers,
        partSize: MIN_PART_SIZE,
        verify: () => {
          throw new Error("refused");
        },
      }),
    ).rejects.toThrow("refused");
    await nothingLeft(key);
  });

  it("a failing source after parts were sent aborts the multipart upload", async () => {
    const key = "uploads/stream/failing.bin";
    await expect(
      streamToObject(h.apiClient, bucket, key, source(3 * MIN_PART_SIZE, MIN_PART_SIZE + 128 * 1024), accepting),
    ).rejects.toThrow("source failed");
    await nothingLeft(key);
  });
});

describe("receiving while sending", () => {
  /** The same bytes as a stream in 64 KiB chunks, counting what was read from it. */
  function counted(data: Buffer): { stream: Readable; read: () => number } {
    let offset = 0;
    const stream = new Readable({
      read() {
        if (offset >= data.length) return void this.push(null);
        this.push(data.subarray(offset, offset + 64 * 1024));
        offset += 64 * 1024;
      },
    });
    return { stream, read: () => Math.min(offset, data.length) };
  }

  /** The API's client, with uploadPart wrapped by `around` (the real call is `send`). */
  function withUploadPart(
    around: (partNumber: number, send: () => Promise<{ etag: string }>) => Promise<{ etag: string }>,
  ) {
    const client = h.apiClient;
    return new Proxy(client, {
      get(target, prop, receiver) {
        if (prop !== "uploadPart") return Reflect.get(target, prop, receiver);
        return (options: { partNumber: number }, payload: Buffer) =>
          around(options.partNumber, () =>
            target.uploadPart(options as Parameters<typeof target.uploadPart>[0], payload),
          );
      },
    });
  }

  it("reads the next part while MinIO takes the previous one, and the object holds the bytes in order", async () => {
    const data = randomBytes(3 * MIN_PART_SIZE + 1234);
    const { stream, read } = counted(data);
    const readWhileSending: number[] = [];
    const client = withUploadPart(async (partNumber, send) => {
      // Hold the first part a moment: the source goes on being read into the second buffer.
      if (partNumber === 1) {
        await new Promise((r) => setTimeout(r, 300));
        readWhileSending.push(read());
      }
      return send();
    });
    const key = "uploads/stream/overlap.bin";
    const result = await streamToObject(client, bucket, key, stream, accepting);
    expect(result.size).toBe(data.length);
    expect(readWhileSending[0]).toBeGreaterThan(MIN_PART_SIZE + 64 * 1024);
    expect((await readAll(await h.client.getObject(bucket, key))).equals(data)).toBe(true);
  });

  it("sends up to PARTS_IN_FLIGHT parts at once while buffers are free; parts finishing out of order keep their place", async () => {
    const data = randomBytes(7 * MIN_PART_SIZE + 4321);
    const { stream } = counted(data);
    let sending = 0;
    let most = 0;
    const finished: number[] = [];
    const client = withUploadPart(async (partNumber, send) => {
      sending++;
      most = Math.max(most, sending);
      // The first part is the slowest: the ones after it finish first.
      await new Promise((r) => setTimeout(r, partNumber === 1 ? 400 : 100));
      try {
        return await send();
      } finally {
        sending--;
        finished.push(partNumber);
      }
    });
    const key = "uploads/stream/parts-in-flight.bin";
    const result = await streamToObject(client, bucket, key, stream, accepting);
    expect(result.size).toBe(data.length);
    expect(most).toBe(PARTS_IN_FLIGHT);
    expect(finished.indexOf(1)).toBeGreaterThan(finished.indexOf(2));
    expect((await readAll(await h.client.getObject(bucket, key))).equals(data)).toBe(true);
  });

  it("a part changed on its way to MinIO is refused by its checksum, and the upload aborted", async () => {
    // Parts go as UNSIGNED-PAYLOAD (storage.ts dataClient): their CRC32 is what catches this.
    const proxy = await startCorruptingProxy(h.config.minio.endpoint.toString(), 3 * MiB);
    try {
      const client = dataClient(new URL(proxy.url), h.config.minio);
      const key = "uploads/stream/corrupted.bin";
      const upload = streamToObject(client, bucket, key, source(12 * MiB), accepting);
      await expect(upload).rejects.toMatchObject({ code: "XAmzContentChecksumMismatch" });
      expect(proxy.corrupted).toBe(true);
      await nothingLeft(key);
    } finally {
      await proxy.close();
    }
  });

  it("a part MinIO refuses stops the reading and aborts the upload: nothing left", async () => {
    const data = randomBytes(6 * MIN_PART_SIZE);
    const { stream, read } = counted(data);
    const client = withUploadPart(async (partNumber, send) => {
      if (partNumber === 2) throw new Error("part refused");
      return send();
    });
    const key = "uploads/stream/refused-part.bin";
    await expect(streamToObject(client, bucket, key, stream, accepting)).rejects.toThrow("part refused");
    expect(read()).toBeLessThan(data.length);
    await nothingLeft(key);
  });
});

describe("the buffer budget", () => {
  it("more large uploads than the budget has buffers take turns: all stored whole, no buffer beyond it", async () => {
    const pool = partBufferPool(MIN_PART_SIZE);
    const uploads = pool.budget + 4;
    const files = Array.from({ length: uploads }, () => randomBytes(2 * MIN_PART_SIZE + 1000));
    let smallDone = false;
    const results = Promise.all(
      files.map((data, i) =>
        streamToObject(h.apiClient, bucket, `uploads/stream/budget-${i}.bin`, Readable.from([data]), accepting),
      ),
    );
    // A small file needs no part buffer: it does not wait behind the large ones.
    await streamToObject(h.apiClient, bucket, "uploads/stream/budget-small.bin", source(64 * 1024), accepting).then(
      () => {
        smallDone = true;
      },
    );
    const stored = await results;
    expect(smallDone).toBe(true);
    expect(pool.allocated).toBeLessThanOrEqual(pool.budget);
    for (const [i, data] of files.entries()) {
      expect(stored[i]?.size).toBe(data.length);
      const body = await readAll(await h.client.getObject(bucket, `uploads/stream/budget-${i}.bin`));
      expect(body.equals(data)).toBe(true);
    }
  });
});

describe("a client that aborts its upload", () => {
  it("leaves no object and no pending multipart upload", async () => {
    const id = "0b6f7c1e-0000-4000-8000-0000000ab047";
    const app = await h.appWith({}, fixedId(id));
    await app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = app.server.address() as AddressInfo;
    const key = `uploads/2026/03/04/${id}/aborted.bin`;

    const req = request({
      host: "127.0.0.1",
      port,
      method: "POST",
      path: "/v1/uploads",
      headers: { ...auth, "content-type": `multipart/form-data; boundary=${BOUNDARY}`, "transfer-encoding": "chunked" },
    });
    req.on("error", () => undefined); // we are the ones cutting the connection
    req.write(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="aborted.bin"\r\n` +
        "Content-Type: application/octet-stream\r\n\r\n",
    );
    req.write(randomBytes(6 * MiB)); // more than one part: a multipart upload is under way
    await waitFor("the multipart upload to start", async () =>
      (await pendingUploads(h.client, bucket, key)).length > 0 ? true : undefined,
    );

    req.destroy();

    await waitFor("the multipart upload to be aborted", async () =>
      (await pendingUploads(h.client, bucket, key)).length === 0 ? true : undefined,
    );
    await nothingLeft(key);
    // The server is fine afterwards.
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
  });
});
