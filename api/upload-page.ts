// The upload page (GET /upload-page when UPLOAD_PAGE is on): one file, uploaded through a resumable
// session in parallel presigned parts, with a progress bar. The session id is kept in localStorage
// per file (name and size), so after a reload choosing the same file again resumes from the parts
// the API lists. No framework and no build step: the page is this string.

/** Parts in flight at once. */
export const PAGE_PARALLEL_PARTS = 4;

export const UPLOAD_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Upload a file - Workflow Studio storage</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; }
  label { display: block; margin: 1rem 0 .25rem; }
  input[type=password] { width: 100%; }
  progress { width: 100%; height: 1.25rem; margin-top: 1rem; }
  #status { min-height: 1.5rem; }
  .error { color: #b00020; }
</style>
</head>
<body>
<h1>Upload a file</h1>
<form id="form">
  <label for="key">API key (scope <code>upload</code>; kept for this tab only)</label>
  <input id="key" type="password" autocomplete="off" required>
  <label for="file">File</label>
  <input id="file" type="file" required>
  <p><button id="start" type="submit">Upload</button></p>
</form>
<progress id="progress" max="100" value="0"></progress>
<p id="status" role="status"></p>
<p><a id="download" hidden>Download link</a></p>
<script>
"use strict";
const api = new URLSearchParams(location.search).get("api") || location.origin;
const PARALLEL = ${PAGE_PARALLEL_PARTS};
const $ = (id) => document.getElementById(id);
$("key").value = sessionStorage.getItem("apiKey") || "";

function show(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function call(method, path, body) {
  const res = await fetch(api + path, {
    method,
    headers: Object.assign({ Authorization: "Bearer " + $("key").value }, body ? { "Content-Type": "application/json" } : {}),
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = res.status === 204 ? null : await res.json();
  if (!res.ok) throw Object.assign(new Error((data && data.message) || res.statusText), { status: res.status, code: data && data.code });
  return data;
}

// One part, by XHR for its upload progress; the browser sets Content-Length from the slice itself.
// Resolves with the part's ETag, which MinIO exposes to the page (CORS): a client that completes
// with its own list of parts needs it; this page lets the API list them.
function putPart(link, blob, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", link.url);
    for (const [name, value] of Object.entries(link.headers)) {
      if (name.toLowerCase() !== "content-length") xhr.setRequestHeader(name, value);
    }
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => (xhr.status < 300 ? resolve(xhr.getResponseHeader("ETag")) : reject(new Error("part " + link.part_number + ": HTTP " + xhr.status)));
    xhr.onerror = () => reject(new Error("part " + link.part_number + ": network error"));
    xhr.send(blob);
  });
}

async function upload(file) {
  const saved = "upload-session:" + file.name + ":" + file.size;
  let session = JSON.parse(localStorage.getItem(saved) || "null");
  let done = [];
  if (session) {
    try {
      done = (await call("GET", "/v1/uploads/sessions/" + session.session_id + "/parts")).parts;
      show("Resuming: " + done.length + " of " + session.part_count + " parts already uploaded");
    } catch (err) {
      if (err.status !== 404 && err.status !== 410) throw err;
      session = null;
    }
  }
  if (!session) {
    session = await call("POST", "/v1/uploads/sessions", {
      filename: file.name, content_type: file.type || "application/octet-stream", size: file.size,
    });
    localStorage.setItem(saved, JSON.stringify(session));
  }
  const have = new Set(done.map((p) => p.part_number));
  const todo = [];
  for (let n = 1; n <= session.part_count; n++) if (!have.has(n)) todo.push(n);
  const sent = new Map();
  let base = done.reduce((sum, p) => sum + p.size, 0);
  let completed = done.length;
  const progress = () => {
    let bytes = base;
    for (const b of sent.values()) bytes += b;
    $("progress").value = Math.floor((bytes / session.size) * 100);
    $("progress").dataset.partsDone = String(completed);
  };
  progress();
  while (todo.length > 0) {
    const batch = todo.splice(0, 100);
    const links = (await call("POST", "/v1/uploads/sessions/" + session.session_id + "/parts", { part_numbers: batch })).parts;
    const queue = links.slice();
    const worker = async () => {
      for (let link = queue.shift(); link; link = queue.shift()) {
        const start = (link.part_number - 1) * session.part_size;
        const etag = await putPart(link, file.slice(start, start + link.size), (loaded) => { sent.set(link.part_number, loaded); progress(); });
        $("progress").dataset.lastEtag = etag || "";
        sent.delete(link.part_number);
        base += link.size;
        completed++;
        progress();
        show("Uploaded part " + link.part_number + " of " + session.part_count);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, links.length) }, worker));
  }
  const result = await call("POST", "/v1/uploads/sessions/" + session.session_id + "/complete");
  localStorage.removeItem(saved);
  $("progress").value = 100;
  $("download").href = result.download_url;
  $("download").textContent = "Download " + result.filename;
  $("download").hidden = false;
  show("Done: " + result.file_path);
}

$("form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("apiKey", $("key").value);
  const file = $("file").files[0];
  $("start").disabled = true;
  upload(file)
    .catch((err) => show("Upload failed: " + err.message + " (choose the file again to resume)", true))
    .finally(() => { $("start").disabled = false; });
});
</script>
</body>
</html>
`;
