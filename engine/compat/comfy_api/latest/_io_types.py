"""ComfyUI's V3 socket and widget types (``io.Int``, ``io.Image``, ``io.Combo`` …), each with the option
keys ComfyUI renders for it. Types that are plain sockets are made in one table at the end."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

from ..internal import prune_dict
from ._io_base import (
    ComfyTypeI,
    ComfyTypeIO,
    ControlAfterGenerate,
    FolderType,
    NumberDisplay,
    Output,
    RemoteComboOptions,
    RemoteOptions,
    UploadType,
    WidgetInput,
    comfytype,
)

_Opt = dict[str, Any] | None
_BaseOutput = Output


@comfytype(io_type="BOOLEAN")
class Boolean(ComfyTypeIO):
    Type = bool

    class Input(WidgetInput):
        def __init__(self, id: str, display_name: str | None = None, optional: bool = False,
                     tooltip: str | None = None, lazy: bool | None = None, default: bool | None = None,
                     label_on: str | None = None, label_off: str | None = None, socketless: bool | None = None,
                     force_input: bool | None = None, extra_dict: _Opt = None, raw_link: bool | None = None,
                     advanced: bool | None = None) -> None:
            super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input,
                             extra_dict, raw_link, advanced)
            self.label_on, self.label_off = label_on, label_off

        def as_dict(self) -> dict[str, Any]:
            return super().as_dict() | prune_dict({"label_on": self.label_on, "label_off": self.label_off})


@comfytype(io_type="INT")
class Int(ComfyTypeIO):
    Type = int

    class Input(WidgetInput):
        def __init__(self, id: str, display_name: str | None = None, optional: bool = False,
                     tooltip: str | None = None, lazy: bool | None = None, default: int | None = None,
                     min: int | None = None, max: int | None = None, step: int | None = None,
                     control_after_generate: bool | ControlAfterGenerate | None = None,
                     display_mode: NumberDisplay | None = None, socketless: bool | None = None,
                     force_input: bool | None = None, extra_dict: _Opt = None, raw_link: bool | None = None,
                     advanced: bool | None = None) -> None:
            super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input,
                             extra_dict, raw_link, advanced)
            self.min, self.max, self.step = min, max, step
            self.control_after_generate, self.display_mode = control_after_generate, display_mode

        def as_dict(self) -> dict[str, Any]:
            return super().as_dict() | prune_dict({
                "min": self.min, "max": self.max, "step": self.step,
                "control_after_generate": self.control_after_generate,
                "display": self.display_mode.value if self.display_mode else None})


@comfytype(io_type="FLOAT")
class Float(ComfyTypeIO):
    Type = float

    class Input(WidgetInput):
        def __init__(self, id: str, display_name: str | None = None, optional: bool = False,
                     tooltip: str | None = None, lazy: bool | None = None, default: float | None = None,
                     min: float | None = None, max: float | None = None, step: float | None = None,
                     round: float | None = None, display_mode: NumberDisplay | None = None,
                     gradient_stops: list[dict[str, Any]] | None = None, socketless: bool | None = None,
                     force_input: bool | None = None, extra_dict: _Opt = None, raw_link: bool | None = None,
                     advanced: bool | None = None) -> None:
            super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input,
                             extra_dict, raw_link, advanced)
            self.min, self.max, self.step, self.round = min, max, step, round
            self.display_mode, self.gradient_stops = display_mode, gradient_stops

        def as_dict(self) -> dict[str, Any]:
            return super().as_dict() | prune_dict({
                "min": self.min, "max": self.max, "step": self.step, "round": self.round,
                "display": self.display_mode, "gradient_stops": self.gradient_stops})


@comfytype(io_type="STRING")
class String(ComfyTypeIO):
    Type = str

    class Input(WidgetInput):
        def __init__(self, id: str, display_name: str | None = None, optional: bool = False,
                     tooltip: str | None = None, lazy: bool | None = None, multiline: bool = False,
                     placeholder: str | None = None, default: str | None = None, dynamic_prompts: bool | None = None,
                     socketless: bool | None = None, force_input: bool | None = None, extra_dict: _Opt = None,
                     raw_link: bool | None = None, advanced: bool | None = None) -> None:
            super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input,
                             extra_dict, raw_link, advanced)
            self.multiline, self.placeholder, self.dynamic_prompts = multiline, placeholder, dynamic_prompts

        def as_dict(self) -> dict[str, Any]:
            return super().as_dict() | prune_dict({"multiline": self.multiline, "placeholder": self.placeholder,
                                                   "dynamicPrompts": self.dynamic_prompts})


@comfytype(io_type="COMBO")
class Combo(ComfyTypeIO):
    Type = str

    class Input(WidgetInput):
        """A dropdown: ``options`` (a list, or an Enum class), optionally with an upload button or remote."""

        def __init__(self, id: str, options: Any = None, display_name: str | None = None, optional: bool = False,
                     tooltip: str | None = None, lazy: bool | None = None, default: Any = None,
                     control_after_generate: bool | ControlAfterGenerate | None = None,
                     upload: UploadType | None = None, image_folder: FolderType | None = None,
                     remote: RemoteOptions | None = None, remote_combo: RemoteComboOptions | None = None,
                     socketless: bool | None = None, extra_dict: _Opt = None, raw_link: bool | None = None,
                     advanced: bool | None = None) -> None:
            if remote is not None and remote_combo is not None:
                raise ValueError("Combo.Input: pass either 'remote' or 'remote_combo', not both.")
            if options is not None and remote_combo is not None:
                raise ValueError("Combo.Input: pass either 'options' or 'remote_combo', not both.")
            if isinstance(options, type) and issubclass(options, Enum):
                options = [member.value for member in options]
            if isinstance(default, Enum):
                default = default.value
            super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, None,
                             extra_dict, raw_link, advanced)
            self.multiselect = False
            self.options, self.control_after_generate, self.upload = options, control_after_generate, upload
            self.image_folder, self.remote, self.remote_combo = image_folder, remote, remote_combo

        def as_dict(self) -> dict[str, Any]:
            return super().as_dict() | prune_dict({
                "multiselect": self.multiselect, "options": self.options,
                "control_after_generate": self.control_after_generate,
                **({self.upload.value: True} if self.upload is not None else {}),
                "image_folder": self.image_folder.value if self.image_folder else None,
                "remote": self.remote.as_dict() if self.remote else None,
                "remote_combo": self.remote_combo.as_dict() if self.remote_combo else None})

    class Output(_BaseOutput):
        def __init__(self, id: str | None = None, display_name: str | None = None, options: list[str] | None = None,
                     tooltip: str | None = None, is_output_list: bool = False) -> None:
            super().__init__(id, display_name, tooltip, is_output_list)
            self.options = options if options is not None else []


@comfytype(io_type="COMBO")
class MultiCombo(ComfyTypeI):
    """A dropdown where several options may be chosen (the value is a list)."""

    Type = list[str]

    class Input(Combo.Input):
        def __init__(self, id: str, options: list[str], display_name: str | None = None, optional: bool = False,
                     tooltip: str | None = None, lazy: bool | None = None, default: list[str] | None = None,
                     placeholder: str | None = None, chip: bool | None = None,
                     control_after_generate: bool | ControlAfterGenerate | None = None,
                     socketless: bool | None = None, extra_dict: _Opt = None, raw_link: bool | None = None,
                     advanced: bool | None = None) -> None:
            super().__init__(id, options, display_name, optional, tooltip, lazy, default, control_after_generate,
                             socketless=socketless, extra_dict=extra_dict, raw_link=raw_link, advanced=advanced)
            self.multiselect, self.placeholder, self.chip = True, placeholder, chip

        def as_dict(self) -> dict[str, Any]:
            return super().as_dict() | prune_dict({
                "multi_select": prune_dict({"placeholder": self.placeholder, "chip": self.chip})})


_Render = Callable[[Any, dict[str, Any]], dict[str, Any]]


def _socketless_widget(io_type: str, name: str, default: Callable[[], Any] = lambda: None, optional: bool = False,
                       extra: tuple[str, ...] = (), render: _Render | None = None) -> Any:
    """A widget-only type (a colour, a bounding box …): a value edited in the node, without a socket unless
    asked. ``default`` makes the default value when none is given; ``extra`` are further options rendered
    after the common ones; ``render`` adjusts the rendered options."""

    def __init__(self: Any, id: str, display_name: str | None = None, optional: bool = optional,
                 tooltip: str | None = None, socketless: bool = True, default_value: Any = None,
                 advanced: bool | None = None, **options: Any) -> None:
        value = options.pop("default", default_value)
        WidgetInput.__init__(self, id, display_name, optional, tooltip, None, default() if value is None else value,
                             socketless, None, options.pop("force_input", None), None, None, advanced)
        for key in extra:
            setattr(self, key, options.pop(key, None))
        if options:
            raise TypeError(f"{name}.Input got unexpected options {sorted(options)}")

    def as_dict(self: Any) -> dict[str, Any]:
        rendered = WidgetInput.as_dict(self) | prune_dict({key: getattr(self, key) for key in extra})
        return render(self, rendered) if render is not None else rendered

    input_class = type("Input", (WidgetInput,), {"__init__": __init__, "as_dict": as_dict})
    return comfytype(io_type=io_type)(type(name, (ComfyTypeIO,), {"Input": input_class, "Type": Any}))


def _curve_default(widget: Any, rendered: dict[str, Any]) -> dict[str, Any]:
    if widget.default is not None:
        rendered["default"] = {"points": [list(p) for p in widget.default], "interpolation": "monotone_cubic"}
    return rendered


def _video_edit_default() -> dict[str, Any]:
    return {"trim": {"start_time": 0.0, "duration": 0.0}, "crop": {"x": 0, "y": 0, "width": 0, "height": 0}}


Webcam = _socketless_widget("WEBCAM", "Webcam")
Color = _socketless_widget("COLOR", "Color", default=lambda: "#ffffff")
Colors = _socketless_widget("COLORS", "Colors", default=list)
ImageCompare = _socketless_widget("IMAGECOMPARE", "ImageCompare")
CameraInfoState = _socketless_widget("CAMERA_INFO_STATE", "CameraInfoState")
Compositor = _socketless_widget("COMPOSITOR", "Compositor", default=dict)
BoundingBox = _socketless_widget("BOUNDING_BOX", "BoundingBox", extra=("component",),
                                 default=lambda: {"x": 0, "y": 0, "width": 512, "height": 512})
BoundingBoxes = _socketless_widget("BOUNDING_BOXES", "BoundingBoxes", default=list)
Curve = _socketless_widget("CURVE", "Curve", default=lambda: [(0.0, 0.0), (1.0, 1.0)], render=_curve_default)
VideoEdit = _socketless_widget("VIDEO_EDIT", "VideoEdit", extra=("features",), default=_video_edit_default)
ResolutionPreview = _socketless_widget("RESOLUTION_PREVIEW", "ResolutionPreview", optional=True,
                                       extra=("ratio_widget", "megapixels_widget", "multiple_widget"))
Range = _socketless_widget("RANGE", "Range", default=lambda: {"min": 0.0, "max": 1.0},
                           extra=("display", "gradient_stops", "show_midpoint", "midpoint_scale", "value_min",
                                  "value_max"))


def _socket(name: str, io_type: str) -> Any:
    return comfytype(io_type=io_type)(type(name, (ComfyTypeIO,), {"Type": Any}))


# Plain socket types, ComfyUI's names and type strings.
Image = _socket("Image", "IMAGE")
WanCameraEmbedding = _socket("WanCameraEmbedding", "WAN_CAMERA_EMBEDDING")
Mask = _socket("Mask", "MASK")
Latent = _socket("Latent", "LATENT")
Conditioning = _socket("Conditioning", "CONDITIONING")
Sampler = _socket("Sampler", "SAMPLER")
Sigmas = _socket("Sigmas", "SIGMAS")
Noise = _socket("Noise", "NOISE")
Guider = _socket("Guider", "GUIDER")
Clip = _socket("Clip", "CLIP")
ControlNet = _socket("ControlNet", "CONTROL_NET")
Vae = _socket("Vae", "VAE")
Model = _socket("Model", "MODEL")
ModelPatch = _socket("ModelPatch", "MODEL_PATCH")
BackgroundRemoval = _socket("BackgroundRemoval", "BACKGROUND_REMOVAL")
ClipVision = _socket("ClipVision", "CLIP_VISION")
ClipVisionOutput = _socket("ClipVisionOutput", "CLIP_VISION_OUTPUT")
StyleModel = _socket("StyleModel", "STYLE_MODEL")
Gligen = _socket("Gligen", "GLIGEN")
UpscaleModel = _socket("UpscaleModel", "UPSCALE_MODEL")
LatentUpscaleModel = _socket("LatentUpscaleModel", "LATENT_UPSCALE_MODEL")
Audio = _socket("Audio", "AUDIO")
Video = _socket("Video", "VIDEO")
SVG = _socket("SVG", "SVG")
LoraModel = _socket("LoraModel", "LORA_MODEL")
LossMap = _socket("LossMap", "LOSS_MAP")
Voxel = _socket("Voxel", "VOXEL")
Mesh = _socket("Mesh", "MESH")
Splat = _socket("Splat", "SPLAT")
File3DAny = _socket("File3DAny", "FILE_3D")
File3DGLB = _socket("File3DGLB", "FILE_3D_GLB")
File3DGLTF = _socket("File3DGLTF", "FILE_3D_GLTF")
File3DFBX = _socket("File3DFBX", "FILE_3D_FBX")
File3DOBJ = _socket("File3DOBJ", "FILE_3D_OBJ")
File3DSTL = _socket("File3DSTL", "FILE_3D_STL")
File3DUSDZ = _socket("File3DUSDZ", "FILE_3D_USDZ")
File3DPLY = _socket("File3DPLY", "FILE_3D_PLY")
File3DSPLAT = _socket("File3DSPLAT", "FILE_3D_SPLAT")
File3DSPZ = _socket("File3DSPZ", "FILE_3D_SPZ")
File3DKSPLAT = _socket("File3DKSPLAT", "FILE_3D_KSPLAT")
File3DSplatAny = _socket("File3DSplatAny", "FILE_3D_SPLAT_ANY")
File3DPointCloudAny = _socket("File3DPointCloudAny", "FILE_3D_POINT_CLOUD_ANY")
Hooks = _socket("Hooks", "HOOKS")
HookKeyframes = _socket("HookKeyframes", "HOOK_KEYFRAMES")
TimestepsRange = _socket("TimestepsRange", "TIMESTEPS_RANGE")
LatentOperation = _socket("LatentOperation", "LATENT_OPERATION")
FlowControl = _socket("FlowControl", "FLOW_CONTROL")
Accumulation = _socket("Accumulation", "ACCUMULATION")
Load3DCamera = _socket("Load3DCamera", "LOAD3D_CAMERA")
Load3DModelInfo = _socket("Load3DModelInfo", "LOAD3D_MODEL_INFO")
Load3D = _socket("Load3D", "LOAD_3D")
Load3DAnimation = _socket("Load3DAnimation", "LOAD_3D_ANIMATION")
Layers = _socket("Layers", "LAYERS")
Photomaker = _socket("Photomaker", "PHOTOMAKER")
Point = _socket("Point", "POINT")
FaceAnalysis = _socket("FaceAnalysis", "FACE_ANALYSIS")
BBOX = _socket("BBOX", "BBOX")
SEGS = _socket("SEGS", "SEGS")
AnyType = _socket("AnyType", "*")
AudioEncoder = _socket("AudioEncoder", "AUDIO_ENCODER")
AudioEncoderOutput = _socket("AudioEncoderOutput", "AUDIO_ENCODER_OUTPUT")
Tracks = _socket("Tracks", "TRACKS")
Dict = _socket("Dict", "DICT")
Array = _socket("Array", "ARRAY")
Histogram = _socket("Histogram", "HISTOGRAM")
MODEL_PATCH = ModelPatch  # the older name of ModelPatch
