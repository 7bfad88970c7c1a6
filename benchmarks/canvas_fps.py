"""Canvas smoothness: frames per second while panning and zooming a graph of N nodes in headless Chromium.

Starts ``inkgraph serve``, opens the canvas, builds N nodes (ImageInvert chains, every node linked, laid
out in a grid), fits them in view, then for ``--seconds`` pans and zooms a little on every animation frame
and counts the frames the canvas actually drew. Headless Chromium renders in software here (no GPU), so the
figures are a floor for a real browser.

Run: ``python benchmarks/canvas_fps.py [--nodes 100 500 1000] [--seconds 4]``
Target: smooth (≥ 30 fps) with 500 nodes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, start_server  # noqa: E402

MEASURE = """async ([count, seconds]) => {
  const app = window.inkgraph;
  app.graph.clear();
  const columns = Math.ceil(Math.sqrt(count));
  let previous = null;
  for (let i = 0; i < count; i++) {
    const node = app.graph.add(app.createNode('ImageInvert'));
    node.pos = [(i % columns) * 260, Math.floor(i / columns) * 120];
    if (previous && i % columns) previous.connect(0, node, 0);
    previous = node;
  }
  app.fitView(0.1);
  let drawn = 0;
  const draw = app.canvas.draw.bind(app.canvas);
  app.canvas.draw = (...args) => { drawn++; return draw(...args); };
  const start = performance.now();
  await new Promise((resolve) => {
    const step = (now) => {
      const t = (now - start) / 1000;
      app.canvas.ds.offset[0] += Math.sin(t * 3) * 4;
      app.canvas.ds.scale = Math.max(0.1, app.canvas.ds.scale * (1 + Math.sin(t * 2) * 0.002));
      app.canvas.setDirty(true, true);
      if (t < seconds) requestAnimationFrame(step); else resolve();
    };
    requestAnimationFrame(step);
  });
  app.canvas.draw = draw;
  return { fps: drawn / ((performance.now() - start) / 1000), scale: app.canvas.ds.scale };
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as base:
        server = start_server(Path(base))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1600, "height": 900})
                page.goto(server.url + "/", wait_until="networkidle")
                page.wait_for_function("() => window.inkgraph && window.inkgraph.graph")
                print(f"{'nodes':>6} {'fps':>6} {'zoom':>6}")
                for count in args.nodes:
                    result = page.evaluate(MEASURE, [count, args.seconds])
                    print(f"{count:>6} {result['fps']:>6.1f} {result['scale']:>6.2f}", flush=True)
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
