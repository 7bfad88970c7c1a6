// The add-node dialog (double-click the canvas, or press Space+A / "/"): search by name, type or category,
// grouped by category, with each node's description; Enter or a click adds the node where you asked.

import { LiteGraph } from "../vendor/litegraph/litegraph.es.js";

export class NodeSearch {
  constructor(app) {
    this.app = app;
    this.element = document.createElement("div");
    this.element.className = "ink-search";
    this.element.innerHTML = `<input type="search" placeholder="Search nodes…" aria-label="Search nodes">
      <div class="ink-search-results" role="listbox"></div>`;
    this.input = this.element.querySelector("input");
    this.results = this.element.querySelector(".ink-search-results");
    this.input.addEventListener("input", () => this.render());
    this.input.addEventListener("keydown", (event) => this.key(event));
    this.element.addEventListener("pointerdown", (event) => event.stopPropagation());
    document.addEventListener("pointerdown", () => this.close());
    this.items = [];
    this.selected = 0;
  }

  /** Every node type with its definition, for searching. */
  entries() {
    return Object.values(this.app.objectInfo).map((info) => ({
      type: info.name, title: info.display_name || info.name, category: info.category || "",
      description: info.description || "",
    }));
  }

  open(graphPos, screen) {
    this.graphPos = graphPos;
    this.element.style.left = `${Math.min(screen[0], window.innerWidth - 440)}px`;
    this.element.style.top = `${Math.min(screen[1], window.innerHeight - 420)}px`;
    document.body.append(this.element);
    this.input.value = "";
    this.render();
    this.input.focus();
  }

  close() {
    this.element.remove();
  }

  get isOpen() {
    return this.element.isConnected;
  }

  render() {
    const words = this.input.value.toLowerCase().split(/\s+/).filter(Boolean);
    const scored = [];
    for (const entry of this.entries()) {
      const haystack = `${entry.title} ${entry.type} ${entry.category}`.toLowerCase();
      if (!words.every((w) => haystack.includes(w))) continue;
      const title = entry.title.toLowerCase();
      const score = words.length === 0 ? 0 : title.startsWith(words[0]) ? 0 : title.includes(words[0]) ? 1 : 2;
      // ComfyUI's _for_testing category holds experiments and internals: after everything else
      const testing = entry.category.toLowerCase().startsWith("_for_testing") ? 1 : 0;
      scored.push({ ...entry, score, testing });
    }
    scored.sort((a, b) => a.testing - b.testing || (words.length ? a.score - b.score : 0)
                          || a.category.localeCompare(b.category) || a.title.localeCompare(b.title));
    this.items = scored.slice(0, 200);
    this.selected = 0;
    this.results.replaceChildren();
    let category = null;
    this.items.forEach((item, index) => {
      if (!words.length && item.category !== category) {
        category = item.category;
        const header = document.createElement("div");
        header.className = "ink-search-category";
        header.textContent = category || "uncategorised";
        this.results.append(header);
      }
      const row = document.createElement("div");
      row.className = "ink-search-item";
      row.setAttribute("role", "option");
      row.dataset.type = item.type;
      row.innerHTML = `<span class="title"></span><span class="category"></span><div class="description"></div>`;
      row.querySelector(".title").textContent = item.title;
      row.querySelector(".category").textContent = item.category;
      row.querySelector(".description").textContent = item.description;
      row.addEventListener("click", () => this.choose(index));
      this.results.append(row);
    });
    this.highlight();
  }

  highlight() {
    const rows = this.results.querySelectorAll(".ink-search-item");
    rows.forEach((row, i) => row.classList.toggle("selected", i === this.selected));
    rows[this.selected]?.scrollIntoView({ block: "nearest" });
  }

  key(event) {
    event.stopPropagation();
    if (event.key === "ArrowDown") { this.selected = Math.min(this.items.length - 1, this.selected + 1); this.highlight(); }
    else if (event.key === "ArrowUp") { this.selected = Math.max(0, this.selected - 1); this.highlight(); }
    else if (event.key === "Enter") { this.choose(this.selected); }
    else if (event.key === "Escape") { this.close(); }
    else return;
    event.preventDefault();
  }

  choose(index) {
    const item = this.items[index];
    if (!item) return;
    const node = LiteGraph.createNode(item.type);
    node.pos = [...this.graphPos];
    this.app.graph.add(node);
    this.app.canvas.selectNode(node);
    this.close();
    this.app.changed();
  }
}
