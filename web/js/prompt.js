// Canvas → API prompt, as ComfyUI's frontend builds it when you queue (graphToPrompt): widget values by
// name (except widgets marked serialize: false, such as control_after_generate and the upload button),
// links as [origin id, slot] followed through Reroutes and bypassed nodes, muted and bypassed nodes left out,
// links into nodes that are not sent dropped. The UI workflow travels along for the history and the PNGs.

const MUTED = 2;
const BYPASS = 4;

function linkOf(graph, id) {
  return id == null ? null : graph.links[id] ?? graph.links.get?.(id) ?? null;
}

/** [origin node, slot] feeding ``link``, through Reroutes and bypassed nodes; null when nothing does. */
function resolve(graph, link, depth = 0) {
  if (!link || depth > 100) return null;
  const origin = graph.getNodeById(link.origin_id);
  if (!origin || origin.mode === MUTED) return null;
  if (origin.type === "Reroute") return resolve(graph, linkOf(graph, origin.inputs[0]?.link), depth + 1);
  if (origin.mode === BYPASS) {
    const candidates = (origin.inputs ?? []).map((input, index) => ({ input, index }))
      .filter(({ input }) => input.link != null && typesMatch(input.type, link.type));
    if (!candidates.length) return null;
    const same = candidates.find(({ index }) => index === link.origin_slot) ?? candidates[0];
    return resolve(graph, linkOf(graph, same.input.link), depth + 1);
  }
  return [String(origin.id), link.origin_slot];
}

function typesMatch(a, b) {
  if (a === b || a === "*" || b === "*") return true;
  if (a === "COMFY_MATCHTYPE_V3" || b === "COMFY_MATCHTYPE_V3") return true;
  return String(a).split(",").some((t) => String(b).split(",").includes(t));
}

export function graphToPrompt(graph) {
  const workflow = graph.serialize();
  const output = {};
  for (const node of graph.computeExecutionOrder(false)) {
    if (node.isVirtualNode || node.mode === MUTED || node.mode === BYPASS || !node.comfyClass) continue;
    const inputs = {};
    for (const widget of node.widgets ?? []) {
      if (!widget.name || widget.options?.serialize === false) continue;
      const value = widget.value;
      inputs[widget.name] = Array.isArray(value) ? { __value__: value } : value;
    }
    for (const input of node.inputs ?? []) {
      const source = resolve(graph, linkOf(graph, input.link));
      if (source) inputs[input.widget?.name ?? input.name] = source;
    }
    output[String(node.id)] = { inputs, class_type: node.comfyClass, _meta: { title: node.title } };
  }
  for (const entry of Object.values(output)) {
    for (const [name, value] of Object.entries(entry.inputs)) {
      if (Array.isArray(value) && value.length === 2 && typeof value[0] === "string" && !(value[0] in output)) {
        delete entry.inputs[name];
      }
    }
  }
  return { output, workflow };
}
