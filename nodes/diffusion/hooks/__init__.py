"""ComfyUI's conditioning hooks: weights that apply only while sampling the entries that carry them.

- :mod:`.model`: the values the HOOKS and HOOK_KEYFRAMES sockets carry (hooks, groups, keyframes);
- :mod:`.schedule`: where keyframes stand during one sampling run;
- :mod:`.sampling`: the network's weights switched per group of entries (``guidance.ModelRunner``);
- :mod:`.clip`: a CLIP's hooks applied while a prompt is encoded (SetClipHooks, schedule_clip).

The nodes are in ``nodes/hooks.py``.
"""
