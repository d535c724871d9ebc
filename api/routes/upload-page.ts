// GET /upload-page: the small upload page (UPLOAD_PAGE=true, as the local stack runs the API). It
// needs no key to load: the key is typed into the page and sent only to the API.
import type { FastifyPluginAsync } from "fastify";
import { UPLOAD_PAGE_HTML } from "../upload-page";

export const uploadPageRoutes: FastifyPluginAsync = async (app) => {
  app.get("/upload-page", { schema: { hide: true } }, async (_request, reply) =>
    reply
      .type("text/html; charset=utf-8")
      // The page runs only its own inline script and talks only to the API and MinIO's links.
      .header(
        "content-security-policy",
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src *",
      )
      .header("cache-control", "no-store")
      .send(UPLOAD_PAGE_HTML),
  );
};
