// GET /v1/objects/{bucket}/url: presigned downloads of existing objects, only in our two buckets.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auth, file, type Harness, multipart, startHarness } from "../support";

let h: Harness;
let uploaded: { file_path: string; bucket: string };

beforeAll(async () => {
  h = await startHarness();
  const body = multipart([file("object bytes", "Résumé 2026.pdf", "application/pdf")]);
  const res = await h.app.inject({
    method: "POST",
    url: "/v1/uploads",
    headers: { ...auth, ...body.headers },
    payload: body.payload,
  });
  uploaded = res.json();
  await h.client.putObject(h.config.buckets.artifacts, "executions/run-1/out.csv", Buffer.from("a,b\n"), 4, {
    "Content-Type": "text/csv",
  });
});
afterAll(async () => h?.close());

const urlFor = (bucket: string, query: string, headers: Record<string, string> = auth) =>
  h.app.inject({ method: "GET", url: `/v1/objects/${bucket}/url?${query}`, headers });

describe("GET /v1/objects/{bucket}/url", () => {
  it("a link that downloads the object under its original name", async () => {
    const res = await urlFor(uploaded.bucket, `key=${encodeURIComponent(uploaded.file_path)}&expires_in=120`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      bucket: uploaded.bucket,
      key: uploaded.file_path,
      filename: "Résumé 2026.pdf",
      size: 12,
      expires_in: 120,
    });
    expect(new URL(body.url).searchParams.get("X-Amz-Expires")).toBe("120");
    const download = await fetch(body.url);
    expect(download.status).toBe(200);
    expect(await download.text()).toBe("object bytes");
    expect(download.headers.get("content-disposition")).toBe(
      `attachment; filename="Resume 2026.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%202026.pdf`,
    );
  });

  it("works for the artifacts bucket (name from the key when there is no metadata)", async () => {
    const res = await urlFor(h.config.buckets.artifacts, "key=executions/run-1/out.csv");
    expect(res.statusCode).toBe(200);
    expect(res.json().filename).toBe("out.csv");
    expect(await (await fetch(res.json().url)).text()).toBe("a,b\n");
  });

  it("only our two buckets, even when the credentials could reach others", async () => {
    await h.client.makeBucket("someone-elses");
    await h.client.putObject("someone-elses", "secret.txt", Buffer.from("secret"));
    const res = await urlFor("someone-elses", "key=secret.txt");
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe("BUCKET_NOT_FOUND");
  });

  it.each([
    ["key=uploads/nope.txt", 404, "OBJECT_NOT_FOUND"],
    ["", 400, "VALIDATION_ERROR"],
    ["key=", 400, "VALIDATION_ERROR"],
    ["key=a%0Ab", 400, "VALIDATION_ERROR"],
    ["key=a&expires_in=3601", 400, "EXPIRY_TOO_LONG"],
    ["key=a&expires_in=-1", 400, "VALIDATION_ERROR"],
    ["key=a&other=1", 400, "VALIDATION_ERROR"],
  ])("%s -> %i %s", async (query, status, code) => {
    const res = await urlFor(h.config.buckets.uploads, query);
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
  });

  it("needs a valid token", async () => {
    expect((await urlFor(uploaded.bucket, `key=${uploaded.file_path}`, {})).statusCode).toBe(401);
  });
});
