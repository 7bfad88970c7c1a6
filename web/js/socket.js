// The websocket: ComfyUI's messages (JSON) and binary preview frames, as DOM-style events, reconnecting.

import { api } from "./api.js";

export class Socket extends EventTarget {
  constructor() {
    super();
    this.connected = false;
    this.connect();
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws?clientId=${encodeURIComponent(api.clientId)}`);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      this.connected = true;
      ws.send(JSON.stringify({ type: "feature_flags", data: { supports_preview_metadata: true } }));
      this.emit("reconnected", {});
    };
    ws.onclose = () => {
      this.connected = false;
      this.emit("disconnected", {});
      setTimeout(() => this.connect(), 500);
    };
    ws.onmessage = (message) => {
      if (typeof message.data === "string") {
        const { type, data } = JSON.parse(message.data);
        this.emit(type, data);
      } else {
        this.binary(message.data);
      }
    };
    this.ws = ws;
  }

  binary(buffer) {
    const view = new DataView(buffer);
    const kind = view.getUint32(0);
    if (kind === 1) {  // [type 1][format 1 jpeg / 2 png][image]
      const format = view.getUint32(4) === 2 ? "image/png" : "image/jpeg";
      this.emit("preview", { blob: new Blob([buffer.slice(8)], { type: format }), node: null });
    } else if (kind === 4) {  // [type 4][metadata length][metadata json][image]
      const length = view.getUint32(4);
      const metadata = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, length)));
      const blob = new Blob([buffer.slice(8 + length)], { type: metadata.image_type || "image/jpeg" });
      this.emit("preview", { blob, node: metadata.display_node_id || metadata.node_id });
    } else if (kind === 3) {  // progress text: [type 3][node id length][node id][text]
      const length = view.getUint32(4);
      const decoder = new TextDecoder();
      const node = decoder.decode(new Uint8Array(buffer, 8, length));
      this.emit("progress_text", { node, text: decoder.decode(new Uint8Array(buffer, 8 + length)) });
    }
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
