// Workflow files: save as ComfyUI's UI JSON, open JSON files (UI or API format) and PNGs with an embedded
// workflow, by the file picker or by dropping them on the page.

import { api } from "./api.js";

/** tEXt / iTXt chunks of a PNG, as {keyword: text}. */
export function pngText(buffer) {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  const texts = {};
  const decoder = new TextDecoder();
  if (view.getUint32(0) !== 0x89504e47) return texts;
  let offset = 8;
  while (offset + 8 <= bytes.length) {
    const length = view.getUint32(offset);
    const type = decoder.decode(bytes.subarray(offset + 4, offset + 8));
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === "tEXt" || type === "iTXt") {
      const zero = data.indexOf(0);
      const keyword = decoder.decode(data.subarray(0, zero));
      let text = data.subarray(zero + 1);
      if (type === "iTXt") {  // compression flag, method, language\0, translated keyword\0, text
        let cursor = 2;
        for (let skipped = 0; skipped < 2; cursor++) if (text[cursor] === 0) skipped++;
        text = text.subarray(cursor);
      }
      texts[keyword] = decoder.decode(text);
    }
    if (type === "IEND") break;
    offset += 12 + length;
  }
  return texts;
}

/** A UI workflow from a dropped or chosen file; API prompts are converted by the server. */
export async function workflowFromFile(file) {
  const buffer = await file.arrayBuffer();
  let data;
  if (file.type === "image/png" || file.name.toLowerCase().endsWith(".png")) {
    const texts = pngText(buffer);
    if (texts.workflow) data = JSON.parse(texts.workflow);
    else if (texts.prompt) data = JSON.parse(texts.prompt);
    else throw new Error(`${file.name} has no embedded workflow`);
  } else {
    data = JSON.parse(new TextDecoder().decode(buffer));
  }
  if (Array.isArray(data?.nodes)) return data;
  const converted = await api.convert(data, "ui");
  return converted.workflow;
}

export function download(name, data) {
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name.endsWith(".json") ? name : `${name}.json`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

export function chooseFile(accept) {
  return new Promise((resolve) => {
    const input = document.createElement("input");
    input.type = "file";
    input.accept = accept;
    input.onchange = () => resolve(input.files?.[0] ?? null);
    input.click();
  });
}
