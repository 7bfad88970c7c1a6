// Inkgraph's canvas: wires the graph editor (LiteGraph), the server's node types, the websocket state, the
// queue panel and the files together. Each concern lives in its own module; this one only connects them.

import { LGraph, LGraphCanvas, LiteGraph } from "../vendor/litegraph/litegraph.es.js";
import { api } from "./api.js";
import { chooseFile, download, workflowFromFile } from "./files.js";
import { registerNodeTypes, typesCompatible } from "./nodes.js";
import { QueuePanel } from "./panels.js";
import { graphToPrompt } from "./prompt.js";
import { NodeSearch } from "./search.js";
import { Socket } from "./socket.js";
import { ExecutionState } from "./state.js";
import { applyControls } from "./widgets.js";

const SESSION_KEY = "inkgraph.workflow";

// Link and socket colours by type: ComfyUI's frontend's dark palette (node_slot), so a graph reads the same
// in both canvases.
const TYPE_COLORS = {
  CLIP: "#FFD500", CLIP_VISION: "#A8DADC", CLIP_VISION_OUTPUT: "#ad7452", CONDITIONING: "#FFA931",
  CONTROL_NET: "#6EE7B7", IMAGE: "#64B5F6", LATENT: "#FF9CF9", MASK: "#81C784", MODEL: "#B39DDB",
  STYLE_MODEL: "#C2FFAE", VAE: "#FF6E6E", NOISE: "#B0B0B0", GUIDER: "#66FFFF", SAMPLER: "#ECB4B4",
  SIGMAS: "#CDFFCD", TAESD: "#DCC274",
};

class App {
  async start() {
    this.objectInfo = registerNodeTypes(await api.objectInfo());
    LiteGraph.isValidConnection = typesCompatible;  // refused while dragging, as in ComfyUI
    this.graph = new LGraph();
    const element = document.querySelector("#ink-canvas");
    this.canvas = new LGraphCanvas(element, this.graph);
    this.canvas.allow_searchbox = true;
    this.canvas.render_canvas_border = false;  // a rectangle the size of the canvas at the origin: noise
    Object.assign(LGraphCanvas.link_type_colors, TYPE_COLORS);
    Object.assign(this.canvas.default_connection_color_byType, TYPE_COLORS);
    this.resize();
    window.addEventListener("resize", () => this.resize());
    this.socket = new Socket();
    this.state = new ExecutionState(this);
    this.search = new NodeSearch(this);
    this.panel = new QueuePanel(this);
    this.undo = [];
    this.redo = [];
    this.hookCanvas();
    this.hookKeys();
    this.hookToolbar();
    this.hookDrop();
    await this.restore();
    this.snapshot = JSON.stringify(this.graph.serialize());
    this.graph.start();
    window.inkgraph = this;  // for debugging, and for the browser tests
  }

  get api() {
    return api;
  }

  createNode(type) {
    return LiteGraph.createNode(type);
  }

  /** Backing store in device pixels, as ComfyUI's frontend does, so text stays sharp on HiDPI screens. */
  resize() {
    const element = this.canvas.canvas;
    const ratio = Math.max(window.devicePixelRatio || 1, 1);
    const { clientWidth, clientHeight } = element.parentElement;
    element.width = Math.round(clientWidth * ratio);
    element.height = Math.round(clientHeight * ratio);
    element.style.width = `${clientWidth}px`;
    element.style.height = `${clientHeight}px`;
    this.canvas.setDirty(true, true);
  }

  /** The part of the page the canvas shows, in CSS pixels (the side panel is beside it, not over it). */
  visibleSize() {
    const element = this.canvas.canvas;
    return { width: element.clientWidth, height: element.clientHeight };
  }

  toast(message, kind = "info") {
    const toast = document.createElement("div");
    toast.className = `ink-toast ${kind}`;
    toast.textContent = message;
    document.querySelector("#ink-toasts").append(toast);
    setTimeout(() => toast.remove(), kind === "error" ? 12000 : 4000);
  }

  hookCanvas() {
    const canvas = this.canvas;
    const drawNode = canvas.drawNode.bind(canvas);
    canvas.drawNode = (node, ctx) => { drawNode(node, ctx); this.state.drawOverlay(node, ctx); };
    canvas.showSearchBox = (event) => {
      const rect = canvas.canvas.getBoundingClientRect();
      const screen = [event.clientX ?? rect.left + 100, event.clientY ?? rect.top + 100];
      const at = canvas.convertEventToCanvasOffset(event);
      // litegraph calls this from the second pointerdown of a double-click: opening now, the same event
      // would reach the document's "pointerdown closes the search" listener next and close it at once
      setTimeout(() => this.search.open(at, screen), 0);
    };
    const nodeMenu = canvas.getNodeMenuOptions.bind(canvas);
    canvas.getNodeMenuOptions = (node) => [...nodeMenu(node), null, ...this.conversionOptions(node)];
    const element = canvas.canvas;
    element.addEventListener("pointerup", () => this.changed());
    element.addEventListener("click", (event) => {
      const [x, y] = canvas.convertEventToCanvasOffset(event);
      const node = this.graph.getNodeOnPos(x, y);
      if (node) this.state.click(node, [x - node.pos[0], y - node.pos[1]]);
    });
    element.addEventListener("pointermove", (event) => this.tooltip(event));
    element.addEventListener("pointerleave", () => { document.querySelector("#ink-tooltip").hidden = true; });
  }

  /** Widget ↔ socket: any widget input can take a link instead, and come back when unlinked. */
  conversionOptions(node) {
    const options = [];
    for (const widget of node.widgets ?? []) {
      if (!widget.inputType || widget.converted) continue;
      options.push({ content: `Convert ${widget.name} to input`, callback: () => this.toInput(node, widget) });
    }
    for (const input of node.inputs ?? []) {
      if (!input.widget || input.link != null) continue;
      options.push({ content: `Convert ${input.widget.name} to widget`, callback: () => this.toWidget(node, input) });
    }
    return options;
  }

  toInput(node, widget) {
    widget.converted = true;
    widget.hidden = true;
    widget.computeSize = () => [0, -4];
    node.addInput(widget.name, widget.inputType, { widget: { name: widget.name } });
    node.setSize([node.size[0], node.computeSize()[1]]);
    this.changed();
  }

  toWidget(node, input) {
    const widget = node.widgets.find((w) => w.name === input.widget.name);
    node.removeInput(node.inputs.indexOf(input));
    if (widget) { widget.converted = false; widget.hidden = false; delete widget.computeSize; }
    node.setSize([node.size[0], node.computeSize()[1]]);
    this.changed();
  }

  /** Hides the widgets whose input is linked in a loaded workflow (saved by us or by ComfyUI). */
  syncConvertedWidgets() {
    for (const node of this.graph._nodes) {
      for (const input of node.inputs ?? []) {
        const widget = input.widget && node.widgets?.find((w) => w.name === input.widget.name);
        if (widget && input.link != null) {
          widget.converted = true;
          widget.hidden = true;
          widget.computeSize = () => [0, -4];
        }
      }
    }
  }

  tooltip(event) {
    const tip = document.querySelector("#ink-tooltip");
    const [x, y] = this.canvas.convertEventToCanvasOffset(event);
    const node = this.graph.getNodeOnPos(x, y);
    let text = null;
    if (node) {
      const local = [x - node.pos[0], y - node.pos[1]];
      const input = node.inputs?.find((slot, i) => Math.abs(node.getConnectionPos(true, i)[1] - y) < 8 && local[0] < 60);
      const output = node.outputs?.find((slot, i) => Math.abs(node.getConnectionPos(false, i)[1] - y) < 8
                                        && local[0] > node.size[0] - 60);
      const widget = node.widgets?.find((w) => !w.hidden && w.last_y != null && local[1] >= w.last_y
                                        && local[1] <= w.last_y + LiteGraph.NODE_WIDGET_HEIGHT);
      text = this.state.errorText(node, local)
        ?? (input ?? output ?? widget)?.tooltip ?? (local[1] < 0 ? node.description : null);
    }
    if (!text) { tip.hidden = true; return; }
    tip.textContent = text;
    tip.style.left = `${event.clientX + 14}px`;
    tip.style.top = `${event.clientY + 14}px`;
    tip.hidden = false;
  }

  hookKeys() {
    window.addEventListener("keydown", (event) => {
      if (event.target.closest?.("input, textarea, .ink-search")) return;
      const ctrl = event.ctrlKey || event.metaKey;
      if (ctrl && event.key === "Enter") { event.preventDefault(); this.queue(event.shiftKey); }
      else if (ctrl && event.key.toLowerCase() === "s") { event.preventDefault(); this.save(); }
      else if (ctrl && event.key.toLowerCase() === "o") { event.preventDefault(); this.open(); }
      else if (ctrl && event.key.toLowerCase() === "z" && !event.shiftKey) { event.preventDefault(); this.undoStep(); }
      else if (ctrl && (event.key.toLowerCase() === "y" || (event.key.toLowerCase() === "z" && event.shiftKey))) {
        event.preventDefault();
        this.redoStep();
      } else if (event.key === "/" && !ctrl) {
        event.preventDefault();
        const rect = this.canvas.canvas.getBoundingClientRect();
        const screen = [rect.left + rect.width / 2 - 200, rect.top + 80];
        this.search.open(this.canvas.convertCanvasToOffset([rect.width / 2, rect.height / 2]), screen);
      }
    });
    window.addEventListener("keyup", () => this.changed());
  }

  hookToolbar() {
    const on = (action, fn) => { document.querySelector(`[data-action=${action}]`).onclick = fn; };
    on("queue", () => this.queue(false));
    on("save", () => this.save());
    on("open", () => this.open());
    on("default", () => this.loadDefault());
    on("clear", () => { this.graph.clear(); this.changed(); });
    on("refresh", () => this.refreshNodes());
    on("interrupt", () => api.interrupt());
    on("undo", () => this.undoStep());
    on("redo", () => this.redoStep());
  }

  hookDrop() {
    document.addEventListener("dragover", (event) => event.preventDefault());
    document.addEventListener("drop", async (event) => {
      event.preventDefault();
      const file = event.dataTransfer?.files?.[0];
      if (file) await this.openFile(file);
    });
  }

  // -- workflows -----------------------------------------------------------------------------------
  loadWorkflow(workflow) {
    const unknown = new Set((workflow.nodes ?? []).map((n) => n.type)
      .filter((t) => !LiteGraph.registered_node_types[t]));
    this.state.clearErrors();
    this.graph.configure(structuredClone(workflow));
    this.syncConvertedWidgets();
    this.fitNodesToContent();
    this.showView(workflow.extra?.ds);
    if (unknown.size) this.toast(`Not installed here: ${[...unknown].join(", ")}`, "error");
    this.changed();
  }

  /** Every node at least as large as its sockets and widgets need, whatever size the file says (as
   * ComfyUI's frontend does on load): nothing is drawn past a node's edge, over its neighbours. */
  fitNodesToContent() {
    for (const node of this.graph._nodes) {
      const needed = node.computeSize();
      if (needed[0] > node.size[0] || needed[1] > node.size[1]) {
        node.setSize([Math.max(node.size[0], needed[0]), Math.max(node.size[1], needed[1])]);
      }
    }
  }

  /** The view a workflow was saved with (ComfyUI keeps it in extra.ds), else one that fits the graph. */
  showView(ds) {
    const valid = ds && Number.isFinite(ds.scale) && ds.scale > 0 && Array.isArray(ds.offset)
      && ds.offset.length === 2 && ds.offset.every(Number.isFinite);
    if (!valid) { this.fitView(); return; }
    this.canvas.ds.scale = ds.scale;
    this.canvas.ds.offset = [...ds.offset];
    this.canvas.setDirty(true, true);
  }

  /**
   * Scale and scroll so the graph is in view: never past 100%, and by default never below the zoom at
   * which litegraph stops drawing titles and widget values (a fitted view nobody can read helps nobody;
   * a wide graph is panned instead).
   */
  fitView(minScale = (this.canvas.low_quality_zoom_threshold ?? 0.6) + 0.05) {
    const nodes = this.graph._nodes;
    if (!nodes.length) { this.canvas.setDirty(true, true); return; }
    const title = LiteGraph.NODE_TITLE_HEIGHT;
    const left = Math.min(...nodes.map((n) => n.pos[0])), top = Math.min(...nodes.map((n) => n.pos[1] - title));
    const right = Math.max(...nodes.map((n) => n.pos[0] + n.size[0]));
    const bottom = Math.max(...nodes.map((n) => n.pos[1] + n.size[1]));
    const { width, height } = this.visibleSize();
    const margin = 24;
    const scale = Math.min(1, (width - 2 * margin) / (right - left), (height - 2 * margin) / (bottom - top));
    this.canvas.ds.scale = Math.max(minScale, scale);
    this.canvas.ds.offset = [margin / this.canvas.ds.scale - left, margin / this.canvas.ds.scale - top];
    this.canvas.setDirty(true, true);
  }

  async loadDefault() {
    this.loadWorkflow(await (await fetch("/api/workflow/default")).json());
  }

  async restore() {
    const saved = localStorage.getItem(SESSION_KEY);
    if (saved) {
      try { this.loadWorkflow(JSON.parse(saved)); return; } catch { /* fall back to the default */ }
    }
    await this.loadDefault();
  }

  /** The UI workflow with the current view in extra.ds, as ComfyUI saves it. */
  serializeWorkflow() {
    const workflow = this.graph.serialize();
    const { scale, offset } = this.canvas.ds;
    workflow.extra = { ...(workflow.extra ?? {}), ds: { scale, offset: [...offset] } };
    return workflow;
  }

  save() {
    download(prompt("Save workflow as:", "workflow") || "workflow", this.serializeWorkflow());
  }

  async open() {
    const file = await chooseFile(".json,.png,application/json,image/png");
    if (file) await this.openFile(file);
  }

  async openFile(file) {
    try {
      this.loadWorkflow(await workflowFromFile(file));
    } catch (error) {
      this.toast(`Cannot open ${file.name}: ${error.message}`, "error");
    }
  }

  async refreshNodes() {
    const info = await api.objectInfo();
    const workflow = this.serializeWorkflow();
    this.objectInfo = registerNodeTypes(info);
    this.loadWorkflow(workflow);
    this.toast("Node definitions and model lists refreshed");
  }

  async queue(front) {
    const { output, workflow } = graphToPrompt(this.graph);
    try {
      const reply = await api.queuePrompt(output, workflow, front);
      this.state.clearErrors();
      this.state.queued(reply.prompt_id, output);
      if (Object.keys(reply.node_errors ?? {}).length) this.state.validationErrors(reply);
      applyControls(this.graph);
      this.changed();
      return reply;
    } catch (error) {
      if (error.body?.error) {
        this.state.validationErrors(error.body);
        const detail = error.body.error.details ? `: ${error.body.error.details}` : "";
        this.toast(`${error.body.error.message}${detail}`, "error");
      } else {
        this.toast(`Queueing failed: ${error.message}`, "error");
      }
      return null;
    }
  }

  // -- undo / redo: snapshots of the serialised graph, taken after each change ---------------------
  changed() {
    const now = JSON.stringify(this.graph.serialize());
    if (now === this.snapshot) return;
    if (this.snapshot !== undefined) this.undo.push(this.snapshot);
    if (this.undo.length > 100) this.undo.shift();
    this.redo = [];
    this.snapshot = now;
    localStorage.setItem(SESSION_KEY, now);
  }

  undoStep() {
    const previous = this.undo.pop();
    if (!previous) return;
    this.redo.push(this.snapshot);
    this.snapshot = previous;
    this.graph.configure(JSON.parse(previous));
    this.syncConvertedWidgets();
    localStorage.setItem(SESSION_KEY, previous);
  }

  redoStep() {
    const next = this.redo.pop();
    if (!next) return;
    this.undo.push(this.snapshot);
    this.snapshot = next;
    this.graph.configure(JSON.parse(next));
    this.syncConvertedWidgets();
    localStorage.setItem(SESSION_KEY, next);
  }
}

new App().start().catch((error) => {
  document.querySelector("#ink-toasts").textContent = `The canvas could not start: ${error.message}`;
  console.error(error);
});
