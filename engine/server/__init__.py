"""The HTTP and websocket server: ComfyUI's protocol over Inkgraph's engine."""
