// The side panel: queue (running and pending, cancel one, clear) and history (status, re-open a past
// prompt's workflow), refreshed from /queue and /history when the server says the queue changed.

import { api } from "./api.js";
import { isAudio, isVideo, thumbnail } from "./media.js";

export class QueuePanel {
  constructor(app) {
    this.app = app;
    this.element = document.querySelector("#ink-panel");
    this.queueList = this.element.querySelector("[data-list=queue]");
    this.historyList = this.element.querySelector("[data-list=history]");
    this.element.querySelector("[data-action=clear-queue]").onclick = async () => { await api.clearQueue(); this.refresh(); };
    this.element.querySelector("[data-action=clear-history]").onclick = async () => { await api.clearHistory(); this.refresh(); };
    app.socket.addEventListener("status", () => this.refresh());
    app.socket.addEventListener("execution_success", () => this.refresh());
    app.socket.addEventListener("execution_error", () => this.refresh());
    app.socket.addEventListener("execution_interrupted", () => this.refresh());
    app.socket.addEventListener("reconnected", () => this.refresh());
    this.refresh();
  }

  async refresh() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), 50);  // a burst of status messages, one reload
  }

  async load() {
    const [queue, history] = await Promise.all([api.queue(), api.history(50)]);
    const items = [...queue.queue_running.map((item) => [item, "running"]),
                   ...[...queue.queue_pending].sort((a, b) => a[0] - b[0]).map((item) => [item, "pending"])];
    this.queueList.replaceChildren(...items.map(([item, state]) => this.queueRow(item, state)));
    this.element.querySelector("[data-count=queue]").textContent = String(items.length);
    const entries = Object.entries(history).reverse();
    this.historyList.replaceChildren(...entries.map(([id, entry]) => this.historyRow(id, entry)));
  }

  queueRow(item, state) {
    const [number, promptId] = item;
    const row = document.createElement("li");
    row.className = `ink-row ${state}`;
    row.dataset.promptId = promptId;
    row.innerHTML = `<span class="state"></span><span class="label"></span><button title="Cancel">✕</button>`;
    row.querySelector(".state").textContent = state;
    row.querySelector(".label").textContent = `#${number} ${promptId.slice(0, 8)}`;
    row.querySelector("button").onclick = async () => {
      if (state === "running") await api.interrupt(promptId);
      else await api.deleteFromQueue([promptId]);
      this.refresh();
    };
    return row;
  }

  historyRow(promptId, entry) {
    const stopped = (entry.status?.messages ?? []).some(([type]) => type === "execution_interrupted");
    const status = stopped ? "interrupted" : entry.status?.status_str ?? "unknown";
    const row = document.createElement("li");
    row.className = `ink-row ${status}`;
    row.dataset.promptId = promptId;
    const outputs = Object.values(entry.outputs ?? {}).flatMap((o) => [...(o.images ?? []), ...(o.audio ?? [])]);
    row.innerHTML = `<span class="state"></span><span class="label"></span><button title="Open this workflow">open</button>`;
    row.querySelector(".state").textContent = status;
    const label = `${promptId.slice(0, 8)} · ${describe(outputs)}`;
    row.querySelector(".label").textContent = label;
    row.title = `${promptId}: ${status}, ${describe(outputs)}`;
    if (outputs[0]) {
      const thumb = thumbnail(outputs[0]);
      if (!isAudio(outputs[0])) thumb.onclick = () => window.open(api.viewUrl(outputs[0]), "_blank");
      row.prepend(thumb);
    }
    row.querySelector("button").onclick = async () => {
      const [, , prompt, extra] = entry.prompt;
      const workflow = extra?.extra_pnginfo?.workflow ?? (await api.convert(prompt, "ui")).workflow;
      this.app.loadWorkflow(workflow);
    };
    return row;
  }
}

/** "2 images · 1 video · 1 audio" for a history row. */
function describe(outputs) {
  const videos = outputs.filter(isVideo).length, sounds = outputs.filter(isAudio).length;
  const images = outputs.length - videos - sounds;
  const parts = [[images, "image"], [videos, "video"], [sounds, "audio"]].filter(([n]) => n)
    .map(([n, kind]) => `${n} ${kind}${n > 1 && kind !== "audio" ? "s" : ""}`);
  return parts.join(" · ") || "no outputs";
}
