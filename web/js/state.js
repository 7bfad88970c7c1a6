// Live execution state from the websocket, drawn on the canvas: the running node, its progress, live
// previews, cached nodes, output images (click to open full size) and errors pinned to node and input.

import { LiteGraph } from "../vendor/litegraph/litegraph.es.js";
import { api } from "./api.js";
import { isVideo, keepVideosMoving, loadVideo, mediaSize, toggleAudio } from "./media.js";

const IMAGE_AREA = 220;
const TEXT_LINE = 16;

export class ExecutionState {
  constructor(app) {
    this.app = app;
    this.running = null;        // node id running now
    this.promptId = null;
    this.total = 0;             // nodes in the prompt being run
    this.done = new Set();      // nodes finished (ran or cached) in it
    this.cached = new Set();
    this.errors = new Map();    // node id → { message, inputs: Map(input name → message) }
    this.progressBar = document.querySelector("#ink-progress > div");
    const socket = app.socket;
    socket.addEventListener("execution_start", (e) => this.start(e.detail));
    socket.addEventListener("execution_cached", (e) => this.markCached(e.detail.nodes));
    socket.addEventListener("executing", (e) => this.executing(e.detail));
    socket.addEventListener("progress", (e) => this.progress(e.detail));
    socket.addEventListener("executed", (e) => this.executed(e.detail));
    socket.addEventListener("execution_error", (e) => this.failed(e.detail));
    socket.addEventListener("execution_interrupted", () => this.finish());
    socket.addEventListener("execution_success", () => this.finish());
    socket.addEventListener("preview", (e) => this.preview(e.detail));
    socket.addEventListener("progress_text", (e) => this.text(e.detail));
    keepVideosMoving(app);
  }

  node(id) {
    return id == null ? null : this.app.graph.getNodeById(Number.isNaN(Number(id)) ? id : Number(id))
      ?? this.app.graph.getNodeById(id);
  }

  redraw() {
    this.app.canvas.setDirty(true, true);
    const overall = this.total ? (this.done.size + (this.node(this.running)?.progress ?? 0)) / this.total : 0;
    this.progressBar.style.width = `${Math.min(100, Math.round(overall * 100))}%`;
    this.progressBar.parentElement.dataset.active = this.running ? "true" : "false";
    this.progressBar.parentElement.title = `${Math.round(overall * 100)}%`;
  }

  /** A prompt was accepted: how many nodes it will touch, for the overall bar. */
  queued(promptId, prompt) {
    this.promptId = promptId;
    this.total = Object.keys(prompt).length;
  }

  start(detail) {
    this.promptId = detail.prompt_id;
    this.done = new Set();
    this.cached = new Set();
    this.clearErrors();
    for (const node of this.app.graph._nodes) { node.progress = undefined; node.previewImage = undefined; }
    this.redraw();
  }

  markCached(ids) {
    for (const id of ids) { this.cached.add(String(id)); this.done.add(String(id)); }
    this.redraw();
  }

  executing({ node, display_node }) {
    const previous = this.node(this.running);
    if (previous) { previous.progress = undefined; }
    if (this.running != null) this.done.add(String(this.running));
    this.running = node == null ? null : String(display_node ?? node);
    if (node == null) this.finish();
    this.redraw();
  }

  progress({ value, max, node }) {
    const target = this.node(node) ?? this.node(this.running);
    if (target) {
      target.progress = max ? value / max : 0;
      target.progressLabel = `${value} / ${max}`;
    }
    this.redraw();
  }

  executed({ node, display_node, output }) {
    const target = this.node(display_node ?? node);
    this.done.add(String(node));
    if (target && output?.images?.length) {
      target.outputImages = output.images;
      const video = output.images.find(isVideo);
      (video ? loadVideo(video).then((v) => [v]) : loadImages(output.images)).then((images) => {
        target.imgs?.forEach((old) => { if (old instanceof HTMLVideoElement) old.pause(); });
        target.imgs = images;
        target.previewImage = undefined;
        ensureImageArea(target);
        this.redraw();
      });
    }
    if (target && output?.audio?.length) {
      target.outputAudio = output.audio;
      target.outputText = `♪ ${output.audio.map((item) => item.filename).join(", ")} (click to play)`;
      ensureImageArea(target);
    }
    if (target && output?.text) { target.outputText = output.text.join("\n"); ensureImageArea(target); }
    this.redraw();
  }

  preview({ blob, node }) {
    const target = this.node(node) ?? this.node(this.running);
    if (!target) return;
    const image = new Image();
    image.onload = () => { target.previewImage = image; ensureImageArea(target); this.redraw(); };
    image.src = URL.createObjectURL(blob);
  }

  text({ node, text }) {
    const target = this.node(node);
    if (target) { target.statusText = text; ensureImageArea(target); this.redraw(); }
  }

  failed(detail) {
    const message = `${detail.exception_type}: ${String(detail.exception_message).trim()}`;
    this.errors.set(String(detail.node_id), { message, inputs: new Map() });
    this.finish();
    this.app.toast(`Node ${detail.node_id} (${detail.node_type}) failed: ${message}`, "error");
  }

  /** A POST /prompt 400: pin each node's errors to it and to the inputs they name. */
  validationErrors(body) {
    this.clearErrors();
    for (const [id, entry] of Object.entries(body?.node_errors ?? {})) {
      const inputs = new Map();
      for (const error of entry.errors) {
        const name = error.extra_info?.input_name;
        if (name) inputs.set(name, `${error.message}: ${error.details}`);
      }
      const message = entry.errors.map((e) => `${e.message}${e.details ? `: ${e.details}` : ""}`).join("\n");
      this.errors.set(String(id), { message, inputs });
    }
    this.redraw();
  }

  clearErrors() {
    this.errors.clear();
  }

  finish() {
    const previous = this.node(this.running);
    if (previous) previous.progress = undefined;
    if (this.running != null) this.done.add(String(this.running));
    this.running = null;
    this.redraw();
  }

  /** Called by the canvas after it drew ``node`` (ctx at the node's origin). Everything stays inside the
   * node's own rectangle: labels drawn outside it covered the neighbouring nodes. */
  drawOverlay(node, ctx) {
    const id = String(node.id);
    const [width, height] = node.size;
    const title = LiteGraph.NODE_TITLE_HEIGHT;
    if (this.running === id) {
      ctx.strokeStyle = "#4caf50";
      ctx.lineWidth = 3;
      ctx.strokeRect(-3, -title - 3, width + 6, height + title + 6);
      if (node.progress != null) drawStepBar(node, ctx);
    }
    if (this.cached.has(id) && this.running !== id) {
      ctx.fillStyle = "#5a6";
      ctx.font = "11px sans-serif";
      ctx.textAlign = "right";
      ctx.fillText("cached", width - 6, -title + 14);
    }
    const error = this.errors.get(id);
    if (error) {
      ctx.strokeStyle = "#e53935";
      ctx.lineWidth = 3;
      ctx.strokeRect(-3, -title - 3, width + 6, height + title + 6);
      // a badge in the title bar; the message itself is in the tooltip and the toast
      ctx.fillStyle = "#e53935";
      ctx.beginPath();
      ctx.arc(width - 14, -title / 2, 8, 0, Math.PI * 2);
      ctx.fill();
      ctx.fillStyle = "#fff";
      ctx.font = "bold 12px sans-serif";
      ctx.textAlign = "center";
      ctx.fillText("!", width - 14, -title / 2 + 4);
      ctx.fillStyle = "#e53935";
      for (const name of error.inputs.keys()) {
        const y = inputY(node, name);
        if (y == null) continue;
        ctx.beginPath();
        ctx.arc(4, y, 4, 0, Math.PI * 2);
        ctx.fill();
      }
    }
    const image = node.previewImage ?? node.imgs?.[0];
    const [iw, ih] = image ? mediaSize(image) : [0, 0];
    if (iw && ih) {
      const top = height - IMAGE_AREA + 4;
      const scale = Math.min((width - 8) / iw, (IMAGE_AREA - 8) / ih);
      const w = iw * scale, h = ih * scale;
      ctx.drawImage(image, (width - w) / 2, top, w, h);
      node.imageRect = [(width - w) / 2, top, w, h];
    }
    const text = node.statusText ?? node.outputText;
    if (text) {  // on its own line below the widgets, which ensureImageArea made room for
      ctx.save();
      ctx.beginPath();
      ctx.rect(0, 0, width, height);
      ctx.clip();
      ctx.fillStyle = "#aaa";
      ctx.font = "11px sans-serif";
      ctx.textAlign = "left";
      ctx.fillText(text.split("\n")[0], 8, contentHeight(node) + TEXT_LINE - 4);
      ctx.restore();
    }
  }

  /** What the tooltip says over a node with an error: the input's message over that input, else all. */
  errorText(node, local) {
    const error = this.errors.get(String(node.id));
    if (!error) return null;
    for (const [name, message] of error.inputs) {
      const y = inputY(node, name);
      if (y != null && Math.abs(local[1] - y) < 10) return message;
    }
    return error.message;
  }

  /** A click on an output image (or video) opens it full size; on a node's sound, plays it. */
  click(node, pos) {
    if (node.outputAudio && pos[1] > node.size[1] - 20 && pos[1] <= node.size[1]) {
      toggleAudio(node);
      return true;
    }
    if (!node.outputImages || !node.imageRect) return false;
    const [x, y, w, h] = node.imageRect;
    if (pos[0] < x || pos[0] > x + w || pos[1] < y || pos[1] > y + h) return false;
    window.open(api.viewUrl(node.outputImages[0]), "_blank");
    return true;
  }
}

/** The running node's step bar: its title bar fills up, with "step n / max" at the right. Inside the
 * node, and over nothing the node draws below its title. */
function drawStepBar(node, ctx) {
  const width = node.size[0];
  const title = LiteGraph.NODE_TITLE_HEIGHT;
  ctx.save();
  ctx.beginPath();
  ctx.roundRect(0, -title, width, title, [8, 8, 0, 0]);
  ctx.clip();
  ctx.fillStyle = "rgba(76, 175, 80, 0.35)";
  ctx.fillRect(0, -title, Math.max(0, Math.min(1, node.progress)) * width, title);
  ctx.fillStyle = "#4caf50";
  ctx.fillRect(0, -4, Math.max(0, Math.min(1, node.progress)) * width, 4);
  if (node.progressLabel) {
    ctx.fillStyle = "#ddd";
    ctx.font = "12px sans-serif";
    ctx.textAlign = "right";
    ctx.fillText(node.progressLabel, width - 8, -title + 19);
  }
  ctx.restore();
}

function inputY(node, name) {
  const slot = node.inputs?.findIndex((input) => (input.widget?.name ?? input.name) === name) ?? -1;
  if (slot >= 0) return node.getConnectionPos(true, slot)[1] - node.pos[1];
  const widget = node.widgets?.find((w) => w.name === name);
  return widget?.last_y != null ? widget.last_y + LiteGraph.NODE_WIDGET_HEIGHT / 2 : null;
}

/** The node's own content height: sockets and widgets, as LiteGraph computes it. */
function contentHeight(node) {
  return node.computeSize()[1];
}

/** The height of what a node shows below its widgets: a line of text, an image. */
export function shownBelow(node) {
  return (node.statusText ?? node.outputText ? TEXT_LINE : 0) + (node.previewImage ?? node.imgs?.[0] ? IMAGE_AREA : 0);
}

/** Grows a node to hold what it shows below its widgets. Never shrinks it. */
export function ensureImageArea(node) {
  const needed = contentHeight(node) + shownBelow(node);
  if (node.size[1] < needed) node.size[1] = needed;
}

function loadImages(images) {
  return Promise.all(images.map((item) => new Promise((resolve) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => resolve(image);
    image.src = api.viewUrl(item, true);
  })));
}
