// The server's HTTP API (ComfyUI's routes, under /api), as small async functions.

async function request(path, options = {}) {
  const response = await fetch(`/api${path}`, options);
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch { /* not JSON */ }
    const error = new Error(body?.error?.message || `${response.status} ${response.statusText}`);
    error.status = response.status;
    error.body = body;
    throw error;
  }
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : response.text();
}

const json = (method, body) => ({ method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

export const api = {
  clientId: sessionStorage.getItem("inkgraph.clientId") || crypto.randomUUID(),

  objectInfo: () => request("/object_info"),
  queue: () => request("/queue"),
  history: (maxItems = 50) => request(`/history?max_items=${maxItems}`),
  interrupt: (promptId) => request("/interrupt", json("POST", promptId ? { prompt_id: promptId } : {})),
  deleteFromQueue: (promptIds) => request("/queue", json("POST", { delete: promptIds })),
  clearQueue: () => request("/queue", json("POST", { clear: true })),
  clearHistory: () => request("/history", json("POST", { clear: true })),
  convert: (workflow, to) => request("/workflow/convert", json("POST", { workflow, to })),

  /** POST /prompt; a 400 rejects with the ComfyUI error body in ``error.body``. */
  queuePrompt: (prompt, workflow, front = false) => request("/prompt", json("POST", {
    prompt, client_id: api.clientId, front, extra_data: { extra_pnginfo: { workflow } },
  })),

  async uploadImage(file, subfolder = "") {
    const form = new FormData();
    form.append("image", file, file.name);
    if (subfolder) form.append("subfolder", subfolder);
    return request("/upload/image", { method: "POST", body: form });
  },

  viewUrl(image, preview = false) {
    const params = new URLSearchParams({ filename: image.filename, type: image.type || "output",
                                         subfolder: image.subfolder || "" });
    if (preview) params.set("preview", "webp;90");
    return `/api/view?${params}`;
  },
};
sessionStorage.setItem("inkgraph.clientId", api.clientId);
