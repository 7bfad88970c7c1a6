// Loaded by ComfyUI's official frontend when Inkgraph serves it (`inkgraph serve --frontend comfyui`).
//
// The frontend opens on its own default graph, built for models and nodes Inkgraph may not have (in 1.58 a
// Z-Image graph: five missing nodes, "2 issues found"). Where it would open that graph, or an empty one on
// the very first start, this opens Inkgraph's default workflow instead (GET /api/workflow/default, the one
// Inkgraph's own canvas opens). A workflow the user had open, a template, a file: all untouched.

import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";

let inkgraphDefault = null;

app.registerExtension({
  name: "Inkgraph.DefaultWorkflow",

  async init() {
    try {
      const response = await api.fetchApi("/workflow/default");
      if (response.ok) inkgraphDefault = await response.json();
    } catch (error) {
      console.warn("Inkgraph: no default workflow", error);
    }
    if (!inkgraphDefault?.nodes?.length) return;
    const load = app.loadGraphData.bind(app);
    let starting = true;
    app.loadGraphData = (graphData, ...rest) => {
      const first = starting;
      starting = false;
      const empty = !graphData || (typeof graphData === "object" && Array.isArray(graphData.nodes)
                                   && graphData.nodes.length === 0);
      // no graph at all means "the default graph"; the first start opens an empty one under its templates
      if (!graphData || (first && empty)) graphData = structuredClone(inkgraphDefault);
      return load(graphData, ...rest);
    };
  },
});
