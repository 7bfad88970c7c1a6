"""ComfyUI's ``comfy_execution`` package for V1 packs: ``graph_utils`` (GraphBuilder), ``graph``
(ExecutionBlocker, DynamicPrompt) and ``utils`` (the executing context)."""
