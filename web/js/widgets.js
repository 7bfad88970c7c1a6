// Widgets for node inputs, as ComfyUI's frontend makes them: same order, same names, same extra widgets
// (control_after_generate after a seed, the upload button after LoadImage's combo), so workflows saved here
// open in ComfyUI and the other way round.

import { api } from "./api.js";
import { isVideo, loadVideo } from "./media.js";
import { ensureImageArea, shownBelow } from "./state.js";

export const CONTROL_VALUES = ["fixed", "increment", "decrement", "randomize"];

/** ComfyUI's FLOAT precision rule: from ``round`` when given, else from ``step``. */
function precisionOf(options) {
  const source = typeof options.round === "number" && options.round > 0 ? options.round : options.step ?? 0.01;
  const text = String(source);
  return text.includes(".") ? text.split(".")[1].length : 0;
}

export function isWidgetInput(type, options) {
  if (options?.forceInput) return false;
  return Array.isArray(type) || ["INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"].includes(type);
}

export function comboValues(type, options) {
  return Array.isArray(type) ? type : options?.options ?? [];
}

/** Adds the widget(s) for one input; returns the main widget. */
export function addInputWidget(node, name, type, options = {}) {
  const tooltip = options.tooltip;
  let widget;
  if (Array.isArray(type) || type === "COMBO") {
    const values = comboValues(type, options);
    widget = node.addWidget("combo", name, options.default ?? values[0] ?? "", () => {}, { values });
  } else if (type === "INT") {
    widget = node.addWidget("number", name, options.default ?? 0, () => {}, {
      min: options.min ?? -Number.MAX_SAFE_INTEGER, max: options.max ?? Number.MAX_SAFE_INTEGER,
      step: 10 * (options.step ?? 1), step2: options.step ?? 1, precision: 0, round: 1,
    });
  } else if (type === "FLOAT") {
    widget = node.addWidget("number", name, options.default ?? 0, () => {}, {
      min: options.min ?? -Infinity, max: options.max ?? Infinity, step: 10 * (options.step ?? 0.1),
      step2: options.step ?? 0.1, precision: precisionOf(options), round: options.round ?? undefined,
    });
  } else if (type === "BOOLEAN") {
    widget = node.addWidget("toggle", name, options.default ?? false, () => {},
                            { on: options.label_on ?? "true", off: options.label_off ?? "false" });
  } else if (type === "STRING" && options.multiline) {
    widget = node.addCustomWidget(multilineWidget(name, options.default ?? "", options.placeholder));
  } else {
    widget = node.addWidget("text", name, options.default ?? "", () => {}, {});
  }
  widget.tooltip = tooltip;
  widget.inputType = Array.isArray(type) ? "COMBO" : type;
  if (options.control_after_generate) {
    const control = node.addWidget("combo", "control_after_generate", "randomize", () => {},
                                   { values: CONTROL_VALUES, serialize: false });
    control.tooltip = "What happens to the value after each queue";
    widget.linkedWidgets = [control];
    control.target = widget;
  }
  const kind = options.image_upload ? "image" : options.video_upload ? "video" : options.audio_upload ? "audio" : null;
  if (kind) {  // LoadImage, LoadVideo, LoadAudio: the same upload button (all post to /upload/image)
    const upload = node.addWidget("button", "upload", "image", () => chooseImage(node, widget, kind),
                                  { serialize: false });
    upload.label = "choose file to upload";
    widget.linkedWidgets = [...(widget.linkedWidgets ?? []), upload];
    if (kind !== "audio") {
      widget.callback = () => showImage(node, widget.value);
      showImage(node, widget.value);
    }
  }
  return widget;
}

/** After queueing: seeds step or re-roll as their control widget says (ComfyUI's "after" mode). */
export function applyControls(graph) {
  for (const node of graph._nodes) {
    for (const widget of node.widgets ?? []) {
      const control = widget.linkedWidgets?.find((w) => w.name === "control_after_generate");
      if (!control || control.value === "fixed") continue;
      const { min = 0, max = 2 ** 53 - 1, step2 = 1 } = widget.options;
      if (widget.type === "combo") {
        const values = widget.options.values;
        const index = values.indexOf(widget.value);
        const next = control.value === "randomize" ? Math.floor(Math.random() * values.length)
          : (index + (control.value === "increment" ? 1 : values.length - 1)) % values.length;
        widget.value = values[next];
      } else if (control.value === "randomize") {
        const span = Math.min(max, Number.MAX_SAFE_INTEGER) - Math.max(min, 0);
        widget.value = Math.max(min, 0) + Math.floor(Math.random() * (span / step2)) * step2;
      } else {
        const next = widget.value + (control.value === "increment" ? step2 : -step2);
        widget.value = Math.min(max, Math.max(min, next));
      }
    }
  }
}

const ACCEPT = { image: "image/png,image/jpeg,image/webp,image/gif", video: "video/*", audio: "audio/*,video/*" };

function chooseImage(node, widget, kind = "image") {
  const input = document.createElement("input");
  input.type = "file";
  input.accept = ACCEPT[kind];
  input.onchange = async () => {
    const file = input.files?.[0];
    if (!file) return;
    const uploaded = await api.uploadImage(file);
    const name = uploaded.subfolder ? `${uploaded.subfolder}/${uploaded.name}` : uploaded.name;
    if (!widget.options.values.includes(name)) widget.options.values.push(name);
    widget.value = name;
    if (kind !== "audio") showImage(node, name);
  };
  input.click();
}

export function showImage(node, name) {
  if (!name) return;
  const [subfolder, filename] = name.includes("/") ? [name.slice(0, name.lastIndexOf("/")),
    name.slice(name.lastIndexOf("/") + 1)] : ["", name];
  if (isVideo(filename)) {
    loadVideo({ filename, subfolder, type: "input" }).then((video) => {
      node.imgs?.forEach((old) => { if (old instanceof HTMLVideoElement) old.pause(); });
      node.imgs = [video];
      ensureImageArea(node);
      node.setDirtyCanvas(true, false);
    });
    return;
  }
  const image = new Image();
  image.onload = () => { node.imgs = [image]; ensureImageArea(node); node.setDirtyCanvas(true, false); };
  image.src = api.viewUrl({ filename, subfolder, type: "input" }, true);
}

/** A multi-line text widget: shows the first lines, edits in a textarea laid over the canvas. */
function multilineWidget(name, value, placeholder) {
  const lineHeight = 14;
  return {
    type: "customtext",
    name,
    value,
    options: { multiline: true, placeholder },
    computeSize(width) { return [width, 6 * lineHeight + 8]; },
    draw(ctx, node, width, y) {
      // at least six lines; a node made taller (ComfyUI's frontend makes text nodes 200 high) gives it more
      const below = (node.widgets ?? []).slice(node.widgets.indexOf(this) + 1).filter((w) => !w.hidden)
        .reduce((sum, w) => sum + (w.computeSize?.(width)[1] ?? 20) + 4, 0);
      const height = Math.max(6 * lineHeight + 4, node.size[1] - y - below - shownBelow(node) - 10);
      const lines = Math.floor((height - 4) / lineHeight);
      ctx.fillStyle = "#1b1b1b";
      ctx.strokeStyle = "#444";
      ctx.beginPath();
      ctx.roundRect(10, y, width - 20, height, 4);
      ctx.fill();
      ctx.stroke();
      ctx.save();
      ctx.beginPath();
      ctx.rect(12, y, width - 24, height);
      ctx.clip();
      ctx.fillStyle = this.value ? "#ddd" : "#777";
      ctx.font = "12px monospace";
      ctx.textAlign = "left";
      const text = this.value || placeholder || name;
      wrap(ctx, String(text), width - 32).slice(0, lines)
        .forEach((line, i) => ctx.fillText(line, 16, y + 14 + i * lineHeight));
      ctx.restore();
    },
    mouse(event, pos, node) {
      if (event.type === "pointerdown" || event.type === "mousedown") editText(this, node);
      return true;
    },
  };
}

function wrap(ctx, text, width) {
  const lines = [];
  for (const paragraph of text.split("\n")) {
    let line = "";
    for (const word of paragraph.split(" ")) {
      const candidate = line ? `${line} ${word}` : word;
      if (ctx.measureText(candidate).width > width && line) {
        lines.push(line);
        line = word;
      } else {
        line = candidate;
      }
    }
    lines.push(line);
  }
  return lines;
}

function editText(widget, node) {
  const dialog = document.createElement("div");
  dialog.className = "ink-dialog ink-text-editor";
  dialog.innerHTML = `<div class="ink-dialog-title"></div><textarea rows="10"></textarea>
    <div class="ink-dialog-buttons"><button data-action="cancel">Cancel</button>
    <button data-action="ok" class="primary">OK (Ctrl+Enter)</button></div>`;
  dialog.querySelector(".ink-dialog-title").textContent = `${node.title} — ${widget.name}`;
  const area = dialog.querySelector("textarea");
  area.value = widget.value;
  const close = (save) => {
    if (save) {
      widget.value = area.value;
      node.graph?.change();
      node.setDirtyCanvas(true, true);
    }
    dialog.remove();
  };
  dialog.querySelector("[data-action=ok]").onclick = () => close(true);
  dialog.querySelector("[data-action=cancel]").onclick = () => close(false);
  area.onkeydown = (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); close(true); }
    if (event.key === "Escape") close(false);
    event.stopPropagation();
  };
  document.body.append(dialog);
  area.focus();
}
