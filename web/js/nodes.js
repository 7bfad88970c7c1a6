// Node types from /object_info: one LiteGraph class per server node, built at load time (nothing is
// generated at build time), plus the canvas-only nodes ComfyUI files contain (Reroute, Note).

import { LGraphNode, LiteGraph } from "../vendor/litegraph/litegraph.es.js";
import { addInputWidget, isWidgetInput } from "./widgets.js";

export const VIRTUAL_TYPES = new Set(["Reroute", "Note", "MarkdownNote"]);

/** The inputs of a node definition in the frontend's order: required then optional (hidden are not shown). */
export function inputsOf(info) {
  const out = [];
  for (const section of ["required", "optional"]) {
    const names = info.input_order?.[section] ?? Object.keys(info.input?.[section] ?? {});
    for (const name of names) {
      const [type, options = {}] = info.input[section][name];
      out.push({ name, type, options, optional: section === "optional" });
    }
  }
  return out;
}

function slotType(type) {
  return Array.isArray(type) ? "COMBO" : type;
}

function buildNode(node, info) {
  node.comfyClass = info.name;
  node.serialize_widgets = true;
  node.description = info.description;
  for (const input of inputsOf(info)) {
    if (isWidgetInput(input.type, input.options)) {
      addInputWidget(node, input.name, input.type, input.options);
    } else {
      const slot = node.addInput(input.name, slotType(input.type));
      slot.tooltip = input.options.tooltip;
      if (input.optional) slot.optional = true;
    }
  }
  info.output.forEach((type, index) => {
    const slot = node.addOutput(info.output_name?.[index] ?? slotType(type), slotType(type));
    slot.tooltip = info.output_tooltips?.[index];
    if (info.output_is_list?.[index]) slot.shape = LiteGraph.GRID_SHAPE;
  });
  const size = node.computeSize();
  node.size = [Math.max(size[0], 240), size[1]];
}

/** Registers (or re-registers, after a refresh) every node type; returns the definitions by class. */
export function registerNodeTypes(objectInfo) {
  for (const [name, info] of Object.entries(objectInfo)) {
    class ServerNode extends LGraphNode {
      static title = info.display_name || name;
      static comfyClass = name;
      static nodeData = info;

      constructor(title) {
        super(title ?? ServerNode.title);
        buildNode(this, info);
      }
    }
    ServerNode.category = info.category;
    LiteGraph.registerNodeType(name, ServerNode);
  }
  registerVirtualNodes();
  return objectInfo;
}

function registerVirtualNodes() {
  class Reroute extends LGraphNode {
    static title = "Reroute";

    constructor(title) {
      super(title ?? "Reroute");
      this.isVirtualNode = true;
      this.addInput("", "*");
      this.addOutput("", "*");
      this.size = [75, 26];
      this.collapsable = false;
    }

    onConnectionsChange() {
      // take the type of whatever feeds it, so what it feeds is checked against that type
      const link = this.inputs[0].link != null ? this.graph?.links[this.inputs[0].link] : null;
      const type = link ? link.type : "*";
      this.outputs[0].type = type;
      this.inputs[0].type = "*";
    }
  }
  class Note extends LGraphNode {
    static title = "Note";

    constructor(title) {
      super(title ?? "Note");
      this.isVirtualNode = true;
      this.serialize_widgets = true;
      this.color = "#432";
      this.bgcolor = "#653";
      addInputWidget(this, "text", "STRING", { multiline: true, default: "" });
      this.size = [320, 140];
    }
  }
  Reroute.category = "utils";
  Note.category = "utils";
  LiteGraph.registerNodeType("Reroute", Reroute);
  LiteGraph.registerNodeType("Note", Note);
  LiteGraph.registerNodeType("MarkdownNote", class extends Note { static title = "Markdown Note"; });
}

const MATCHTYPE = "COMFY_MATCHTYPE_V3"; // a V3 socket that takes (and passes on) whatever is connected

/** The ComfyUI rule for sockets: equal, either "*" or a match-type socket, or comma unions that share a member. */
export function typesCompatible(output, input) {
  if (output === input || output === "*" || input === "*" || !output || !input) return true;
  if (output === MATCHTYPE || input === MATCHTYPE) return true;
  const a = String(output).split(","), b = String(input).split(",");
  return a.some((t) => b.includes(t));
}
