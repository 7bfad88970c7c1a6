"""Scale-out on Ray: one front door (queue, history, websocket) and a pool of worker actors.

- :mod:`.jobs` — what travels to a worker and back (the prompt, the input files it names, output files),
  and the keys the dispatcher compares for affinity. No Ray import.
- :mod:`.actor` — the worker: an ordinary :class:`~engine.runtime.Runtime` inside a Ray actor, streaming
  the executor's events back as they happen.
- :mod:`.pool` — the actors, their health and the choice of a worker for a prompt.
- :mod:`.dispatcher` — takes prompts from a :class:`~engine.queue.PromptQueue` and runs them on the pool;
  used by ``inkgraph serve --ray`` and by ``inkgraph run --ray`` sweeps alike.

Ray is an optional extra (``pip install 'inkgraph[ray]'``) and is imported only when ``--ray`` is given.
"""
