// Video and audio on the canvas: ComfyUI's save nodes report videos under `images` (with `animated`)
// and sound under `audio`; a video plays (muted, looping) where an output image would be drawn, a clip's
// name is shown on its node and plays when clicked.

import { api } from "./api.js";

const VIDEO = /\.(mp4|m4v|webm|mkv|mov)$/i;
const AUDIO = /\.(flac|mp3|opus|ogg|oga|wav|m4a|aac)$/i;

export const isVideo = (item) => VIDEO.test(typeof item === "string" ? item : item?.filename ?? "");
export const isAudio = (item) => AUDIO.test(typeof item === "string" ? item : item?.filename ?? "");

/** A muted, looping <video> of a /view item; resolves once its first frame can be drawn (or failed). */
export function loadVideo(item) {
  return new Promise((resolve) => {
    const video = document.createElement("video");
    Object.assign(video, { muted: true, loop: true, autoplay: true, playsInline: true, preload: "auto" });
    video.addEventListener("loadeddata", () => { video.play().catch(() => {}); resolve(video); }, { once: true });
    video.addEventListener("error", () => resolve(video), { once: true });
    video.src = api.viewUrl(item);
  });
}

/** Width and height of an image or a video, 0 while unknown. */
export function mediaSize(media) {
  return media instanceof HTMLVideoElement ? [media.videoWidth, media.videoHeight]
    : [media.naturalWidth || media.width, media.naturalHeight || media.height];
}

/** Plays or pauses the first clip of a node's audio output. */
export function toggleAudio(node) {
  const item = node.outputAudio?.[0];
  if (!item) return;
  if (!node.audioPlayer || node.audioPlayer.dataset.src !== api.viewUrl(item)) {
    node.audioPlayer?.pause();
    node.audioPlayer = new Audio(api.viewUrl(item));
    node.audioPlayer.dataset.src = api.viewUrl(item);
    node.audioPlayer.onended = node.audioPlayer.onpause = () => node.setDirtyCanvas(true, false);
  }
  if (node.audioPlayer.paused) node.audioPlayer.play().catch(() => {}); else node.audioPlayer.pause();
  node.setDirtyCanvas(true, false);
}

/** Redraws the canvas while a video on it plays (the canvas only repaints when told). */
export function keepVideosMoving(app, interval = 66) {
  return setInterval(() => {
    const playing = app.graph?._nodes?.some((node) => node.imgs?.[0] instanceof HTMLVideoElement
                                                       && !node.imgs[0].paused);
    if (playing) app.canvas.setDirty(true, false);
  }, interval);
}

/** A history thumbnail: a small looping video, a play button for sound, or an image. */
export function thumbnail(item) {
  if (isVideo(item)) {
    const video = document.createElement("video");
    Object.assign(video, { muted: true, loop: true, autoplay: true, playsInline: true, src: api.viewUrl(item) });
    return video;
  }
  if (isAudio(item)) {
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.preload = "none";
    audio.src = api.viewUrl(item);
    return audio;
  }
  const image = document.createElement("img");
  image.src = api.viewUrl(item, true);
  return image;
}
