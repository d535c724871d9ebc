// The seed's save_execution_result as POST/GET /v1/executions/{id}/artifacts, end to end.
import { randomBytes } from "node:crypto";
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAll } from "../../helpers/minio";
import {
  API_KEY,
  apiKeysJson,
  auth,
  BOUNDARY,
  type Harness,
  listKeys,
  MiB,
  multipart,
  type Part,
  pendingUploadsUnder,
  postMultipart,
  startHarness,
  waitFor,
} from "../support";

let h: Harness;
let bucket: string;

beforeAll(async () => {
  h = await startHarness();
  bucket = h.config.buckets.artifacts;
});
afterAll(async () => h?.close());

const resultField = (value: unknown): Part => ({
  name: "result",
  contentType: "application/json",
  data: JSON.stringify(value),
});
const output = (name: string, data: string | Buffer, contentType = "text/plain"): Part => ({
  name: "files",
  filename: name,
  contentType,
  data,
});

const save = (app: FastifyInstance, id: string, parts: Part[], query = "") =>
  postMultipart(app, `/v1/executions/${id}/artifacts${query}`, parts);

describe("POST /v1/executions/{executionId}/artifacts", () => {
  it("stores result.json (indent 2) and each output file under executions/{id}/{attempt}/", async () => {
    const result = { status: "succeeded", outputs: [1, 2, 3], nested: { ok: true } };
    const res = await save(h.app, "run-42", [
      resultField(result),
      output("report.csv", "a,b\n1,2\n", "text/csv"),
      output("chart.png", "\x89PNG-ish", "image/png"),
    ]);
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.execution_id).toBe("run-42");
    expect(body.result).toMatchObject({
      name: "result.json",
      file_path: "executions/run-42/result.json",
      content_type: "application/json",
    });
    const [report, chart] = body.files.map((f: { file_path: string }) => f.file_path);
    const attempt = /^executions\/run-42\/([0-9a-f-]{36})\/report\.csv$/.exec(report)?.[1];
    expect(attempt).toBeDefined();
    expect(chart).toBe(`executions/run-42/${attempt}/chart.png`);
    const stored = (await readAll(await h.client.getObject(bucket, "executions/run-42/result.json"))).toString();
    expect(stored).toBe(JSON.stringify(result, null, 2));
    // result.json names the committed attempt: readers follow it.
    expect((await h.client.statObject(bucket, "executions/run-42/result.json")).metaData.attempt).toBe(attempt);
    expect((await readAll(await h.client.getObject(bucket, report))).toString()).toBe("a,b\n1,2\n");
    const stat = await h.client.statObject(bucket, chart);
    expect(stat.metaData["content-type"]).toBe("image/png");
    // Each link downloads its artifact.
    const download = await fetch(body.files[0].download_url);
    expect(await download.text()).toBe("a,b\n1,2\n");
    expect(download.headers.get("content-disposition")).toContain(`filename="report.csv"`);
  });

  it("takes the result as a JSON file part too, and a plain text field holding JSON", async () => {
    const asFile = await save(h.app, "run-file", [
      { name: "result", filename: "result.json", contentType: "application/json", data: '{"a":1}' },
    ]);
    expect(asFile.statusCode).toBe(201);
    const asText = await save(h.app, "run-text", [{ name: "result", data: '["x"]' }]);
    expect(asText.statusCode).toBe(201);
    expect((await readAll(await h.client.getObject(bucket, "executions/run-text/result.json"))).toString()).toBe(
      '[\n  "x"\n]',
    );
  });

  it("an execution's artifacts are written once: a second save is 409", async () => {
    await save(h.app, "run-once", [resultField({ n: 1 })]);
    const again = await save(h.app, "run-once", [resultField({ n: 2 })]);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe("ALREADY_SAVED");
    expect((await readAll(await h.client.getObject(bucket, "executions/run-once/result.json"))).toString()).toContain(
      '"n": 1',
    );
  });
});

describe("GET /v1/executions/{executionId}/artifacts", () => {
  it("lists every artifact with size, storage class, content type and a working link", async () => {
    await save(h.app, "run-list", [resultField({ ok: 1 }), output("log.txt", "line 1\nline 2\n")]);
    const res = await h.app.inject({
      method: "GET",
      url: "/v1/executions/run-list/artifacts?expires_in=60",
      headers: auth,
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.execution_id).toBe("run-list");
    expect(body.expires_in).toBe(60);
    const byName = Object.fromEntries(body.artifacts.map((a: { name: string }) => [a.name, a]));
    expect(Object.keys(byName).sort()).toEqual(["log.txt", "result.json"]);
    expect(byName["log.txt"]).toMatchObject({
      file_path: expect.stringMatching(/^executions\/run-list\/[0-9a-f-]{36}\/log\.txt$/),
      size: 14,
      content_type: "text/plain",
      storage_class: "STANDARD",
      etag: expect.any(String),
    });
    expect(Date.parse(byName["log.txt"].last_modified)).toBeGreaterThan(Date.now() - 60_000);
    expect(await (await fetch(byName["log.txt"].download_url)).text()).toBe("line 1\nline 2\n");
  });

  it("404 for an execution without artifacts", async () => {
    const res = await h.app.inject({ method: "GET", url: "/v1/executions/never-ran/artifacts", headers: auth });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe("EXECUTION_NOT_FOUND");
  });
});

describe("refused saves: the right 4xx and nothing written", () => {
  async function refused(id: string, parts: Part[], status: number, code: string, app = h.app) {
    const before = await listKeys(h.client, bucket);
    const res = await save(app, id, parts);
    expect(res.statusCode, res.body).toBe(status);
    expect(res.json().error.code).toBe(code);
    expect(await listKeys(h.client, bucket)).toEqual(before);
    expect(await pendingUploadsUnder(h.client, bucket, "executions/")).toEqual([]);
  }

  it("a file big enough to go multipart, refused after it was streamed: nothing left, and a retry works", async () => {
    const big = randomBytes(7 * MiB);
    await refused(
      "big-then-bad",
      [output("big.bin", big, "application/octet-stream"), output("../x.txt", "x")],
      400,
      "INVALID_FILENAME",
    );
    const retry = await save(h.app, "big-then-bad", [
      resultField({ retried: true }),
      output("big.bin", big, "application/octet-stream"),
    ]);
    expect(retry.statusCode, retry.body).toBe(201);
    const stored = await readAll(await h.client.getObject(bucket, retry.json().files[0].file_path));
    expect(stored.equals(big)).toBe(true);
  });

  it("bad execution ids", async () => {
    for (const id of ["-x", "a.b", "a%2Fb", "%2E%2Ex", "x".repeat(129), "r%C3%A9sum%C3%A9"]) {
      await refused(id, [resultField({})], 400, "VALIDATION_ERROR");
    }
    const get = await h.app.inject({ method: "GET", url: "/v1/executions/a.b/artifacts", headers: auth });
    expect(get.statusCode).toBe(400);
    // Far too long for the router itself: still our error shape.
    const huge = await h.app.inject({
      method: "GET",
      url: `/v1/executions/${"x".repeat(14_000)}/artifacts`,
      headers: auth,
    });
    expect(huge.statusCode).toBe(414);
    expect(huge.json()).toEqual({ error: { code: "URL_TOO_LONG", message: "a path segment is too long" } });
  });

  it("a missing, invalid or oversized result", async () => {
    await refused("no-result", [output("a.txt", "x")], 400, "MISSING_RESULT");
    await refused("bad-json", [{ name: "result", data: "{not json" }], 400, "INVALID_RESULT");
    await refused(
      "bad-json-typed",
      [{ name: "result", contentType: "application/json", data: "{nope" }],
      400,
      "INVALID_JSON_FIELD",
    );
    await refused("two-results", [resultField({}), resultField({})], 400, "DUPLICATE_RESULT");
    const big = JSON.stringify({ blob: "x".repeat(1024 * 1024) });
    await refused(
      "big-result",
      [{ name: "result", filename: "r.json", contentType: "application/json", data: big }],
      413,
      "RESULT_TOO_LARGE",
    );
  });

  it("bad output files: names, duplicates, types, empty, too many, too large", async () => {
    // Files already streamed when the failure comes are removed again.
    await refused("names", [output("ok.txt", "fine"), output("../../escape.txt", "x")], 400, "INVALID_FILENAME");
    await refused("ctl", [output("a\u001b[31m.txt", "x"), resultField({})], 400, "INVALID_FILENAME");
    await refused("dupes", [output("a.txt", "1"), output("dir/a.txt", "2"), resultField({})], 400, "DUPLICATE_NAME");
    await refused(
      "reserved",
      [output("result.json", "{}", "application/json"), resultField({})],
      400,
      "DUPLICATE_NAME",
    );
    await refused(
      "types",
      [output("ok.txt", "x"), output("x.exe", "MZ", "application/x-msdownload")],
      415,
      "UNSUPPORTED_CONTENT_TYPE",
    );
    await refused("empty", [output("empty.txt", ""), resultField({})], 400, "EMPTY_FILE");
    await refused(
      "other-part",
      [{ name: "attachment", filename: "a.txt", contentType: "text/plain", data: "x" }],
      400,
      "UNEXPECTED_PART",
    );
    const capped = await h.appWith({ MAX_FILES_PER_REQUEST: "2", MAX_UPLOAD_BYTES: "100" });
    await refused(
      "many",
      [output("1.txt", "1"), output("2.txt", "2"), output("3.txt", "3"), resultField({})],
      413,
      "TOO_MANY_FILES",
      capped,
    );
    await refused(
      "large",
      [output("1.txt", "1"), output("2.txt", "x".repeat(101)), resultField({})],
      413,
      "FILE_TOO_LARGE",
      capped,
    );
    // The result arriving last does not matter: nothing of a refused request stays.
    expect(await listKeys(h.client, bucket, "executions/names/")).toEqual([]);
  });

  it("a key without artifacts:write cannot save, one without artifacts:read cannot list", async () => {
    const app = await h.appWith({ API_KEYS: apiKeysJson([API_KEY], ["artifacts:read", "upload"]) });
    await refused("scoped", [resultField({})], 403, "FORBIDDEN", app);
    const writer = await h.appWith({ API_KEYS: apiKeysJson([API_KEY], ["artifacts:write"]) });
    expect((await save(writer, "scoped", [resultField({})])).statusCode).toBe(201);
    const list = await writer.inject({ method: "GET", url: "/v1/executions/scoped/artifacts", headers: auth });
    expect(list.statusCode).toBe(403);
  });

  it("missing or wrong token, expiry above the maximum", async () => {
    const body = multipart([resultField({})]);
    const noToken = await h.app.inject({
      method: "POST",
      url: "/v1/executions/tok/artifacts",
      headers: body.headers,
      payload: body.payload,
    });
    expect(noToken.statusCode).toBe(401);
    const list = await h.app.inject({
      method: "GET",
      url: "/v1/executions/tok/artifacts",
      headers: { authorization: "Bearer nope-nope-nope-nope" },
    });
    expect(list.statusCode).toBe(401);
    const tooLong = await save(h.app, "too-long", [resultField({})], "?expires_in=86400");
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().error.code).toBe("EXPIRY_TOO_LONG");
    expect(await listKeys(h.client, bucket, "executions/too-long/")).toEqual([]);
  });
});

describe("saves are atomic and happen once", () => {
  it("of concurrent saves of one id exactly one succeeds, the others get 409, and readers see the winner's set", async () => {
    const attempts = 8;
    const responses = await Promise.all(
      Array.from({ length: attempts }, (_, i) =>
        save(h.app, "race", [
          resultField({ attempt: i }),
          output(`only-${i}.txt`, `from ${i}`),
          output("common.txt", `${i}`),
        ]),
      ),
    );
    const statuses = responses.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([201, ...Array(attempts - 1).fill(409)]);
    const winner = responses.findIndex((r) => r.statusCode === 201);
    for (const r of responses) if (r.statusCode === 409) expect(r.json().error.code).toBe("ALREADY_SAVED");
    const list = await h.app.inject({ method: "GET", url: "/v1/executions/race/artifacts", headers: auth });
    const names = list
      .json()
      .artifacts.map((a: { name: string }) => a.name)
      .sort();
    expect(names).toEqual(["common.txt", `only-${winner}.txt`, "result.json"]);
    const common = list.json().artifacts.find((a: { name: string }) => a.name === "common.txt");
    expect(await (await fetch(common.download_url)).text()).toBe(String(winner));
    expect(
      JSON.parse((await readAll(await h.client.getObject(bucket, "executions/race/result.json"))).toString()),
    ).toEqual({
      attempt: winner,
    });
    expect(await pendingUploadsUnder(h.client, bucket, "executions/race/")).toEqual([]);
  });

  it("a save in progress is invisible: readers get 404 until it has committed, then the whole set", async () => {
    const body = new PassThrough();
    const response = h.app.inject({
      method: "POST",
      url: "/v1/executions/in-progress/artifacts",
      headers: { ...auth, "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
      payload: body,
    });
    body.write(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="first.txt"\r\n` +
        `Content-Type: text/plain\r\n\r\nfirst\r\n--${BOUNDARY}\r\n` +
        `Content-Disposition: form-data; name="files"; filename="big.bin"\r\n` +
        "Content-Type: application/octet-stream\r\n\r\n",
    );
    body.write(randomBytes(6 * MiB));
    await waitFor("a part of the save to be stored", async () =>
      (await pendingUploadsUnder(h.client, bucket, "executions/in-progress/")).length > 0 ? true : undefined,
    );
    const during = await h.app.inject({ method: "GET", url: "/v1/executions/in-progress/artifacts", headers: auth });
    expect(during.statusCode).toBe(404);
    expect(await listKeys(h.client, bucket, "executions/in-progress/")).toEqual([]);
    body.end(
      `\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="result"\r\n` +
        `Content-Type: application/json\r\n\r\n{"done":true}\r\n--${BOUNDARY}--\r\n`,
    );
    expect((await response).statusCode).toBe(201);
    const after = await h.app.inject({ method: "GET", url: "/v1/executions/in-progress/artifacts", headers: auth });
    expect(
      after
        .json()
        .artifacts.map((a: { name: string }) => a.name)
        .sort(),
    ).toEqual(["big.bin", "first.txt", "result.json"]);
  });

  it("a client that hangs up mid-save leaves nothing, is counted as a disconnect (not an outage), and the retry works", async () => {
    const app = await h.appWith({});
    await app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = app.server.address() as AddressInfo;
    const req = request({
      host: "127.0.0.1",
      port,
      method: "POST",
      path: "/v1/executions/hang-up/artifacts",
      headers: { ...auth, "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
    });
    req.on("error", () => {});
    req.write(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="big.bin"\r\n` +
        "Content-Type: application/octet-stream\r\n\r\n",
    );
    req.write(randomBytes(6 * MiB));
    await waitFor("a part of the save to be stored", async () =>
      (await pendingUploadsUnder(h.client, bucket, "executions/hang-up/")).length > 0 ? true : undefined,
    );
    req.destroy();
    await waitFor("the staged upload to be aborted", async () =>
      (await pendingUploadsUnder(h.client, bucket, "executions/hang-up/")).length === 0 ? true : undefined,
    );
    expect(await listKeys(h.client, bucket, "executions/hang-up/")).toEqual([]);
    await waitFor("the disconnect to be counted", async () =>
      (await app.metrics.clientDisconnects.get()).values[0]?.value === 1 ? true : undefined,
    );
    expect((await app.metrics.storageUnavailable.get()).values[0]?.value ?? 0).toBe(0);
    const retry = await save(app, "hang-up", [resultField({ ok: true }), output("big.bin", "small now")]);
    expect(retry.statusCode).toBe(201);
  });
});
