"""Wan's video conditioning nodes (ComfyUI's ``nodes_wan`` and ``nodes_camera_trajectory``): the empty video
latent with the start/end images, masks and control videos put where the Wan models read them
(``concat_latent_image``, ``concat_mask``, ``clip_vision_output``, ``vace_frames``, ``camera_conditions`` —
see ``diffusion/families/wan_adapter.py``), TrimVideoLatent, Wan 2.2 TI2V's image-to-video latent and the
Fun-camera trajectory embedding.

Video latents are [B, 16, (length − 1)/4 + 1, height/8, width/8] for Wan 2.1's VAE and [B, 48, …, /16, /16]
for Wan 2.2's; images are resized to the video's size (bilinear, centre crop) before encoding, as ComfyUI.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from inkgraph.engine import Conditioning, Context, Float, Int, Latent, Output, Socket, Vae, node

from . import MAX_RESOLUTION

CATEGORY = "conditioning/video_models"
Width = Annotated[int, Int(min=16, max=MAX_RESOLUTION, step=16)]
Height = Annotated[int, Int(min=16, max=MAX_RESOLUTION, step=16)]
Length = Annotated[int, Int(min=1, max=MAX_RESOLUTION, step=4)]
BatchSize = Annotated[int, Int(min=1, max=4096)]
ClipVisionOutput = Annotated[Any, Socket(type="CLIP_VISION_OUTPUT", optional=True)]
OptionalImage = Annotated[Any, Socket(type="IMAGE", optional=True)]
Positive = Annotated[list[Any], Socket(type="CONDITIONING"), Output("positive")]
Negative = Annotated[list[Any], Socket(type="CONDITIONING"), Output("negative")]
LatentOut = Annotated[dict[str, Any], Socket(type="LATENT"), Output("latent")]
VideoOutputs = tuple[Positive, Negative, LatentOut]


def set_values(conditioning: list[Any], values: dict[str, Any], append: bool = False) -> list[Any]:
    """ComfyUI's ``node_helpers.conditioning_set_values``: each entry with these options (lists appended to
    what the entry has when ``append``)."""
    out = []
    for embedding, options in conditioning:
        extra = dict(options)
        for key, value in values.items():
            extra[key] = [*options.get(key, []), *value] if append and key in options else value
        out.append([embedding, extra])
    return out


def _resized(image: Any, width: int, height: int) -> Any:
    from .image_utils import common_upscale

    return common_upscale(image.movedim(-1, 1), width, height, "bilinear", "center").movedim(1, -1)


def _encode(ctx: Context, vae: Any, pixels: Any) -> Any:
    from .diffusion.vae_ops import encode

    with vae.use() as model:
        return encode(model, pixels[..., :3], ctx.check_interrupted)


def _latent(batch: int, channels: int, length: int, height: int, width: int, scale: int = 8) -> Any:
    import torch

    return torch.zeros([batch, channels, (length - 1) // 4 + 1, height // scale, width // scale])


def _wan21_out(latent: Any) -> Any:
    """An all-zero Wan 2.1 latent in the model's space, taken back to the VAE's (ComfyUI's
    ``Wan21().process_out(zeros)``: the latent of "nothing here")."""
    from .diffusion.families.wan import WAN21_LATENT

    return WAN21_LATENT.process_out(latent)


def _with_clip(positive: list[Any], negative: list[Any], clip_vision_output: Any) -> tuple[list[Any], list[Any]]:
    if clip_vision_output is None:
        return positive, negative
    values = {"clip_vision_output": clip_vision_output}
    return set_values(positive, values), set_values(negative, values)


@node(category=CATEGORY)
def WanImageToVideo(ctx: Context, positive: Conditioning, negative: Conditioning, vae: Vae, width: Width = 832,
                    height: Height = 480, length: Length = 81, batch_size: BatchSize = 1,
                    clip_vision_output: ClipVisionOutput = None, start_image: OptionalImage = None) -> VideoOutputs:
    """An empty video latent; the start image (then grey) is encoded and masked in as the frames to keep."""
    import torch

    latent = _latent(batch_size, 16, length, height, width)
    if start_image is not None:
        start = _resized(start_image[:length], width, height)
        video = torch.ones((length, height, width, start.shape[-1])) * 0.5
        video[: start.shape[0]] = start
        encoded = _encode(ctx, vae, video)
        mask = torch.ones((1, 1, latent.shape[2], encoded.shape[-2], encoded.shape[-1]))
        mask[:, :, : (start.shape[0] - 1) // 4 + 1] = 0.0
        values = {"concat_latent_image": encoded, "concat_mask": mask}
        positive, negative = set_values(positive, values), set_values(negative, values)
    positive, negative = _with_clip(positive, negative, clip_vision_output)
    return positive, negative, {"samples": latent}


def _first_last(ctx: Context, positive: list[Any], negative: list[Any], vae: Any, width: int, height: int,
                length: int, batch_size: int, start_image: Any, end_image: Any) -> tuple[Any, Any, Any]:
    """The video of the start and end images with grey between, encoded, and its 4-channel mask per latent
    frame (0 where a frame is given; the start image counts for its latent frame's four)."""
    import torch

    latent = _latent(batch_size, 16, length, height, width)
    video = torch.ones((length, height, width, 3)) * 0.5
    mask = torch.ones((1, 1, latent.shape[2] * 4, latent.shape[-2], latent.shape[-1]))
    if start_image is not None:
        start = _resized(start_image[:length], width, height)
        video[: start.shape[0]] = start[..., :3]
        mask[:, :, : start.shape[0] + 3] = 0.0
    if end_image is not None:
        end = _resized(end_image[-length:], width, height)
        video[-end.shape[0]:] = end[..., :3]
        mask[:, :, -end.shape[0]:] = 0.0
    encoded = _encode(ctx, vae, video)
    mask = mask.view(1, mask.shape[2] // 4, 4, mask.shape[3], mask.shape[4]).transpose(1, 2)
    values = {"concat_latent_image": encoded, "concat_mask": mask}
    return set_values(positive, values), set_values(negative, values), latent


@node(category=CATEGORY)
def WanFirstLastFrameToVideo(ctx: Context, positive: Conditioning, negative: Conditioning, vae: Vae,
                             width: Width = 832, height: Height = 480, length: Length = 81,
                             batch_size: BatchSize = 1, clip_vision_start_image: ClipVisionOutput = None,
                             clip_vision_end_image: ClipVisionOutput = None, start_image: OptionalImage = None,
                             end_image: OptionalImage = None) -> VideoOutputs:
    """An empty video latent with a first and a last frame to keep; both CLIP vision outputs are joined."""
    import torch

    from .diffusion.clip_vision import ClipVisionOutput as Output_

    positive, negative, latent = _first_last(ctx, positive, negative, vae, width, height, length, batch_size,
                                             start_image, end_image)
    clip = clip_vision_start_image
    if clip_vision_end_image is not None:
        if clip is not None:
            states = torch.cat([clip.penultimate_hidden_states, clip_vision_end_image.penultimate_hidden_states],
                               dim=-2)
            clip = Output_(penultimate_hidden_states=states)
        else:
            clip = clip_vision_end_image
    positive, negative = _with_clip(positive, negative, clip)
    return positive, negative, {"samples": latent}


@node(category=CATEGORY)
def WanFunInpaintToVideo(ctx: Context, positive: Conditioning, negative: Conditioning, vae: Vae,
                         width: Width = 832, height: Height = 480, length: Length = 81, batch_size: BatchSize = 1,
                         clip_vision_output: ClipVisionOutput = None, start_image: OptionalImage = None,
                         end_image: OptionalImage = None) -> VideoOutputs:
    """Wan Fun InP: a start and an end frame to keep (as WanFirstLastFrameToVideo)."""
    positive, negative, latent = _first_last(ctx, positive, negative, vae, width, height, length, batch_size,
                                             start_image, end_image)
    positive, negative = _with_clip(positive, negative, clip_vision_output)
    return positive, negative, {"samples": latent}


@node(category=CATEGORY)
def WanFunControlToVideo(ctx: Context, positive: Conditioning, negative: Conditioning, vae: Vae,
                         width: Width = 832, height: Height = 480, length: Length = 81, batch_size: BatchSize = 1,
                         clip_vision_output: ClipVisionOutput = None, start_image: OptionalImage = None,
                         control_video: OptionalImage = None) -> VideoOutputs:
    """Wan Fun control: 32 concatenated channels, the control video's latent then the start image's."""
    latent = _latent(batch_size, 16, length, height, width)
    concat = _wan21_out(_latent(batch_size, 16, length, height, width)).repeat(1, 2, 1, 1, 1)
    if start_image is not None:
        encoded = _encode(ctx, vae, _resized(start_image[:length], width, height))
        concat[:, 16:, : encoded.shape[2]] = encoded[:, :, : concat.shape[2]]
    if control_video is not None:
        encoded = _encode(ctx, vae, _resized(control_video[:length], width, height))
        concat[:, :16, : encoded.shape[2]] = encoded[:, :, : concat.shape[2]]
    values = {"concat_latent_image": concat}
    positive, negative = set_values(positive, values), set_values(negative, values)
    positive, negative = _with_clip(positive, negative, clip_vision_output)
    return positive, negative, {"samples": latent}


@node(category=CATEGORY, experimental=True)
def WanVaceToVideo(ctx: Context, positive: Conditioning, negative: Conditioning, vae: Vae, width: Width = 832,
                   height: Height = 480, length: Length = 81, batch_size: BatchSize = 1,
                   strength: Annotated[float, Float(min=0.0, max=1000.0, step=0.01)] = 1.0,
                   control_video: OptionalImage = None,
                   control_masks: Annotated[Any, Socket(type="MASK", optional=True)] = None,
                   reference_image: OptionalImage = None,
                   ) -> tuple[Positive, Negative, LatentOut, Annotated[int, Socket(type="INT"), Output("trim_latent")]]:
    """VACE: the control video split by its mask into kept and regenerated parts (encoded apart), the mask
    folded to the latent grid, an optional reference image prepended (trim it off after sampling)."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    from .image_utils import common_upscale

    latent_length = (length - 1) // 4 + 1
    if control_video is not None:
        control = _resized(control_video[:length], width, height)
        if control.shape[0] < length:
            control = F.pad(control, (0, 0, 0, 0, 0, 0, 0, length - control.shape[0]), value=0.5)
    else:
        control = torch.ones((length, height, width, 3)) * 0.5
    reference = None
    if reference_image is not None:
        reference = _encode(ctx, vae, _resized(reference_image[:1], width, height))
        reference = torch.cat([reference, _wan21_out(torch.zeros_like(reference))], dim=1)
    if control_masks is None:
        mask = torch.ones((length, height, width, 1))
    else:
        mask = control_masks.unsqueeze(1) if control_masks.ndim == 3 else control_masks
        mask = common_upscale(mask[:length], width, height, "bilinear", "center").movedim(1, -1)
        if mask.shape[0] < length:
            mask = F.pad(mask, (0, 0, 0, 0, 0, 0, 0, length - mask.shape[0]), value=1.0)
    control = control[..., :3] - 0.5
    inactive = _encode(ctx, vae, control * (1 - mask) + 0.5)
    reactive = _encode(ctx, vae, control * mask + 0.5)
    frames = torch.cat((inactive, reactive), dim=1)
    if reference is not None:
        frames = torch.cat((reference, frames), dim=2)
    stride = 8
    mask = mask.reshape(length, height // stride, stride, width // stride, stride).permute(2, 4, 0, 1, 3)
    mask = mask.reshape(stride * stride, length, height // stride, width // stride)
    mask = F.interpolate(mask.unsqueeze(0), size=(latent_length, height // stride, width // stride),
                         mode="nearest-exact").squeeze(0)
    trim = 0
    if reference is not None:
        mask = torch.cat((torch.zeros_like(mask[:, : reference.shape[2]]), mask), dim=1)
        latent_length += reference.shape[2]
        trim = reference.shape[2]
    values = {"vace_frames": [frames], "vace_mask": [mask.unsqueeze(0)], "vace_strength": [strength]}
    positive, negative = set_values(positive, values, append=True), set_values(negative, values, append=True)
    latent = torch.zeros([batch_size, 16, latent_length, height // 8, width // 8])
    return positive, negative, {"samples": latent}, trim


@node(category="latent/video", experimental=True)
def TrimVideoLatent(samples: Latent, trim_amount: Annotated[int, Int(min=0, max=99999)] = 0
                    ) -> Annotated[dict[str, Any], Socket(type="LATENT"), Output("LATENT")]:
    """Drops the first latent frames (VACE's reference image) after sampling."""
    out = dict(samples)
    out["samples"] = samples["samples"][:, :, trim_amount:]
    return out


CameraEmbedding = Annotated[Any, Socket(type="WAN_CAMERA_EMBEDDING")]


@node(category=CATEGORY)
def WanCameraImageToVideo(ctx: Context, positive: Conditioning, negative: Conditioning, vae: Vae,
                          width: Width = 832, height: Height = 480, length: Length = 81, batch_size: BatchSize = 1,
                          clip_vision_output: ClipVisionOutput = None, start_image: OptionalImage = None,
                          camera_conditions: Annotated[Any, Socket(type="WAN_CAMERA_EMBEDDING", optional=True)] = None
                          ) -> VideoOutputs:
    """Wan Fun camera: the start image (kept) and a camera trajectory embedding (WanCameraEmbedding)."""
    import torch

    latent = _latent(batch_size, 16, length, height, width)
    if start_image is not None:
        concat = _wan21_out(_latent(batch_size, 16, length, height, width))
        start = _resized(start_image[:length], width, height)
        encoded = _encode(ctx, vae, start)
        concat[:, :, : encoded.shape[2]] = encoded[:, :, : concat.shape[2]]
        mask = torch.ones((1, 1, latent.shape[2] * 4, latent.shape[-2], latent.shape[-1]))
        mask[:, :, : start.shape[0] + 3] = 0.0
        mask = mask.view(1, mask.shape[2] // 4, 4, mask.shape[3], mask.shape[4]).transpose(1, 2)
        values = {"concat_latent_image": concat, "concat_mask": mask}
        positive, negative = set_values(positive, values), set_values(negative, values)
    if camera_conditions is not None:
        values = {"camera_conditions": camera_conditions}
        positive, negative = set_values(positive, values), set_values(negative, values)
    positive, negative = _with_clip(positive, negative, clip_vision_output)
    return positive, negative, {"samples": latent}


CameraPose = Literal["Static", "Pan Up", "Pan Down", "Pan Left", "Pan Right", "Zoom In", "Zoom Out",
                     "Anti Clockwise (ACW)", "ClockWise (CW)"]


@node(category="camera")
def WanCameraEmbedding(
    camera_pose: CameraPose = "Static", width: Width = 832, height: Height = 480, length: Length = 81,
    speed: Annotated[float, Float(min=0.0, max=10.0, step=0.1, optional=True)] = 1.0,
    fx: Annotated[float, Float(min=0.0, max=1.0, step=0.000000001, optional=True)] = 0.5,
    fy: Annotated[float, Float(min=0.0, max=1.0, step=0.000000001, optional=True)] = 0.5,
    cx: Annotated[float, Float(min=0.0, max=1.0, step=0.01, optional=True)] = 0.5,
    cy: Annotated[float, Float(min=0.0, max=1.0, step=0.01, optional=True)] = 0.5,
) -> tuple[Annotated[Any, Socket(type="WAN_CAMERA_EMBEDDING"), Output("camera_embedding")],
           Annotated[int, Socket(type="INT"), Output("width")], Annotated[int, Socket(type="INT"), Output("height")],
           Annotated[int, Socket(type="INT"), Output("length")]]:
    """Plücker ray embeddings of a preset camera motion, one per latent frame, for Wan's Fun-camera models."""
    from .diffusion.camera import embedding

    return embedding(camera_pose, width, height, length, speed, fx, fy, cx, cy), width, height, length


@node(category="conditioning/inpaint")
def Wan22ImageToVideoLatent(
    ctx: Context, vae: Vae, width: Annotated[int, Int(min=32, max=MAX_RESOLUTION, step=32)] = 1280,
    height: Annotated[int, Int(min=32, max=MAX_RESOLUTION, step=32)] = 704,
    length: Length = 49, batch_size: BatchSize = 1, start_image: OptionalImage = None,
) -> Annotated[dict[str, Any], Socket(type="LATENT"), Output("LATENT")]:
    """Wan 2.2 TI2V's 48-channel video latent (16× down); a start image is encoded into the first latent frames
    and masked out of the noise (the model then sees those frames at timestep 0)."""
    import torch

    from .diffusion.families.wan import WAN22_LATENT

    latent = _latent(1, 48, length, height, width, 16)
    if start_image is None:
        return {"samples": latent}
    mask = torch.ones([1, 1, latent.shape[2], latent.shape[-2], latent.shape[-1]])
    encoded = _encode(ctx, vae, _resized(start_image[:length], width, height))
    latent[:, :, : encoded.shape[-3]] = encoded
    mask[:, :, : encoded.shape[-3]] = 0.0
    latent = WAN22_LATENT.process_out(latent) * mask + latent * (1.0 - mask)
    return {"samples": latent.repeat((batch_size,) + (1,) * (latent.ndim - 1)),
            "noise_mask": mask.repeat((batch_size,) + (1,) * (mask.ndim - 1))}


NODES = [WanImageToVideo, WanFunControlToVideo, WanFunInpaintToVideo, WanFirstLastFrameToVideo, WanVaceToVideo,
         TrimVideoLatent, WanCameraImageToVideo, WanCameraEmbedding, Wan22ImageToVideoLatent]
