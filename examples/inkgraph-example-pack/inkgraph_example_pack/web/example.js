// A front-end extension: the canvas (and ComfyUI's frontend) load every file listed by GET /extensions.
export const name = "inkgraph.example_pack";
