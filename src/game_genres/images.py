"""Locate, validate, decode and resize cover images.

Ingestion uses this module to validate covers and preprocessing and inference use it
to build model inputs, so every pipeline applies the same rules. A cover that cannot
be used raises CoverRejectedError, whose `reason` is one of the REASON_* codes.
"""

from __future__ import annotations

import io
import operator
import os
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

IMAGE_EXTENSIONS: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp"})

REASON_PATH_OUTSIDE = "cover_path_outside_covers_dir"
REASON_MISSING_PATH = "cover_path_missing"
REASON_MISSING_FILE = "cover_file_not_found"
REASON_EMPTY_FILE = "cover_file_empty"
REASON_UNREADABLE = "cover_unreadable"
REASON_TRUNCATED = "cover_truncated"
REASON_TOO_LARGE = "cover_too_large"
REASON_UNSUPPORTED_EXTENSION = "cover_unsupported_extension"

REJECTION_REASONS: frozenset[str] = frozenset(
    {
        REASON_PATH_OUTSIDE,
        REASON_MISSING_PATH,
        REASON_MISSING_FILE,
        REASON_EMPTY_FILE,
        REASON_UNREADABLE,
        REASON_TRUNCATED,
        REASON_TOO_LARGE,
        REASON_UNSUPPORTED_EXTENSION,
    }
)

RESIZE_POLICIES: tuple[str, ...] = ("pad", "crop")

# Pillow formats expected for each accepted extension. Pillow reports JPEG files that
# carry a Multi-Picture Format index (common from cameras) as "MPO".
_FORMATS_BY_EXTENSION: dict[str, frozenset[str]] = {
    ".jpg": frozenset({"JPEG", "MPO"}),
    ".jpeg": frozenset({"JPEG", "MPO"}),
    ".png": frozenset({"PNG"}),
    ".webp": frozenset({"WEBP"}),
    ".gif": frozenset({"GIF"}),
    ".bmp": frozenset({"BMP"}),
}

_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})
_WHITE = (255, 255, 255)


class CoverRejectedError(Exception):
    """Cover that cannot be used, with a stable `reason` code and a readable `detail`."""

    reason: str
    detail: str

    def __init__(self, reason: str, detail: str) -> None:
        if reason not in REJECTION_REASONS:
            raise ValueError(
                f"Unknown cover rejection reason {reason!r}. "
                f"Use one of: {', '.join(sorted(REJECTION_REASONS))}."
            )
        # Passing both values to Exception keeps the error picklable, which
        # multiprocessing runners need to send it between processes.
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


@dataclass(frozen=True)
class CoverInfo:
    """Properties of a decoded cover file.

    `width` and `height` are the stored size from the file header, before EXIF
    orientation, so the returned image has them swapped for a 90-degree rotation.
    `mode` is the Pillow mode before conversion to RGB. `extension_mismatch` is True
    when the file extension does not match the decoded format, which callers may
    record but which does not stop the cover from being used.
    """

    width: int
    height: int
    format: str
    mode: str
    extension_mismatch: bool


def resolve_cover_path(covers_dir: str | Path, cover: str | None) -> Path:
    """Resolve a cover path relative to `covers_dir` and check that it names an image file there.

    `cover` may use '/' or '\\' as separators, and surrounding whitespace is removed.
    Symlinks are followed, so the returned path is the real file.

    Raises:
        CoverRejectedError: with REASON_MISSING_PATH, REASON_PATH_OUTSIDE,
            REASON_UNSUPPORTED_EXTENSION or REASON_MISSING_FILE, checked in that order.
        FileNotFoundError: if `covers_dir` is not an existing folder, because that is
            a configuration error that affects every cover.
        TypeError: if `cover` is neither a string, a path nor a missing value.
    """
    if _is_missing_value(cover):
        raise CoverRejectedError(
            REASON_MISSING_PATH,
            f"Cover value is missing ({cover!r}). Fill in a path relative to the covers folder.",
        )
    if not isinstance(cover, (str, os.PathLike)):
        raise TypeError(
            f"Cover value must be a string or path, got {type(cover).__name__} {cover!r}."
        )

    cover_text = os.fspath(cover).strip()
    if not cover_text:
        raise CoverRejectedError(
            REASON_MISSING_PATH,
            f"Cover value {cover!r} is empty. Fill in a path relative to the covers folder.",
        )

    covers_root = Path(covers_dir).resolve()
    if not covers_root.is_dir():
        raise FileNotFoundError(
            f"Covers folder {str(covers_dir)!r} (resolved to {str(covers_root)!r}) "
            "does not exist or is not a folder. Check the configured covers folder."
        )

    # Windows-style separators are accepted so that cover lists written on Windows
    # still resolve. A literal backslash in a POSIX file name is therefore not supported.
    relative_text = cover_text.replace("\\", "/")
    windows_form = PureWindowsPath(cover_text)
    if Path(relative_text).is_absolute() or windows_form.drive or windows_form.root:
        raise CoverRejectedError(
            REASON_PATH_OUTSIDE,
            f"Cover path {cover_text!r} is absolute. "
            "Use a path relative to the covers folder.",
        )

    try:
        resolved = (covers_root / relative_text).resolve()
    except (OSError, RuntimeError, ValueError) as error:
        # Python before 3.13 raises RuntimeError for a symlink loop, and a NUL
        # character in the path raises ValueError.
        raise CoverRejectedError(
            REASON_MISSING_FILE,
            f"Cover path {cover_text!r} could not be resolved inside {str(covers_root)!r}: "
            f"{error}. Check the file name and any symlinks on the way.",
        ) from error

    if resolved == covers_root or not resolved.is_relative_to(covers_root):
        raise CoverRejectedError(
            REASON_PATH_OUTSIDE,
            f"Cover path {cover_text!r} resolves to {str(resolved)!r}, which is not inside "
            f"the covers folder {str(covers_root)!r}. Use a path inside the covers folder "
            "and check that no '..' segment or symlink leads out of it.",
        )

    check_cover_extension(cover_text)

    if not resolved.is_file():
        raise CoverRejectedError(
            REASON_MISSING_FILE,
            f"Cover file {str(resolved)!r} (from {cover_text!r}) does not exist or is not "
            "a regular file. Check that the covers folder is complete.",
        )
    return resolved


def check_cover_extension(cover: str) -> None:
    """Check that a cover path or file name ends in one of IMAGE_EXTENSIONS, in any case.

    Raises:
        CoverRejectedError: with REASON_UNSUPPORTED_EXTENSION.
    """
    extension = PurePosixPath(cover.replace("\\", "/")).suffix.lower()
    if extension not in IMAGE_EXTENSIONS:
        raise CoverRejectedError(
            REASON_UNSUPPORTED_EXTENSION,
            f"Cover path {cover!r} has extension {extension or '(none)'!r}, which is "
            f"not a supported image type. Use one of: {', '.join(sorted(IMAGE_EXTENSIONS))}.",
        )


def open_cover_rgb(path: str | Path, max_pixels: int) -> tuple[Image.Image, CoverInfo]:
    """Decode a cover file into an RGB image with EXIF orientation applied.

    The size check uses the file header, so a cover of more than `max_pixels` pixels
    is rejected before its pixel data is read. Pillow's own decompression-bomb limit
    (2 * Image.MAX_IMAGE_PIXELS) still applies when `max_pixels` is higher, and such
    covers are also rejected as too large. Between Image.MAX_IMAGE_PIXELS and that
    limit Pillow emits a DecompressionBombWarning, which this function does not suppress.
    Animated GIF and WebP files yield their first frame. Transparent areas become
    white. The returned image is a loaded copy and the file is closed on return.

    NOTE: Pillow decodes WebP files while opening them, so a truncated WebP file is
    reported as REASON_UNREADABLE, not REASON_TRUNCATED.

    Raises:
        CoverRejectedError: with REASON_MISSING_FILE, REASON_EMPTY_FILE,
            REASON_UNREADABLE, REASON_TOO_LARGE or REASON_TRUNCATED.
        ValueError: if `max_pixels` is not positive.
    """
    _check_max_pixels(max_pixels)
    path = Path(path)
    _check_file_not_empty(path)
    return _decode_cover(path, path, f"Cover file {str(path)!r}", max_pixels)


def open_cover_bytes(data: bytes, max_pixels: int, name: str) -> tuple[Image.Image, CoverInfo]:
    """Decode the bytes of a cover file into an RGB image, with the rules of open_cover_rgb.

    `name` is the file name or path the bytes came from. Error details show it, and
    CoverInfo.extension_mismatch compares its extension with the decoded format.

    Raises:
        CoverRejectedError: with REASON_EMPTY_FILE, REASON_UNREADABLE,
            REASON_TOO_LARGE or REASON_TRUNCATED.
        TypeError: if `data` is not a bytes-like object.
        ValueError: if `max_pixels` is not positive.
    """
    _check_max_pixels(max_pixels)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(
            f"Cover {name!r} must be given as bytes, got {type(data).__name__}. "
            "Pass the raw content of the image file."
        )
    if len(data) == 0:
        raise CoverRejectedError(
            REASON_EMPTY_FILE,
            f"Cover {name!r} is empty (0 bytes). Download or export it again.",
        )
    return _decode_cover(_NamedBytesIO(data, name), PurePosixPath(name), f"Cover {name!r}", max_pixels)


class _NamedBytesIO(io.BytesIO):
    """In-memory file whose repr is its name, because Pillow puts the repr of the file
    object into some error messages, such as "cannot identify image file"."""

    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self._cover_name = name

    def __repr__(self) -> str:
        return repr(self._cover_name)


def _decode_cover(
    source: Path | BinaryIO, name: PurePath, label: str, max_pixels: int
) -> tuple[Image.Image, CoverInfo]:
    """Decode `source` for open_cover_rgb and open_cover_bytes.

    `name` gives the extension for CoverInfo.extension_mismatch, and `label` starts
    every error detail, for example "Cover file 'a/b.png'".
    """
    try:
        image_file = Image.open(source)
    except Image.DecompressionBombError as error:
        raise CoverRejectedError(
            REASON_TOO_LARGE,
            f"{label} exceeds Pillow's decompression-bomb limit "
            f"({error}). Replace it with a smaller image.",
        ) from error
    except (OSError, ValueError) as error:
        raise CoverRejectedError(
            REASON_UNREADABLE,
            f"{label} is not an image that Pillow can read ({error}). "
            "Replace it with a JPEG, PNG, WebP, GIF or BMP file.",
        ) from error

    with image_file:
        width, height = image_file.size
        if width * height > max_pixels:
            raise CoverRejectedError(
                REASON_TOO_LARGE,
                f"{label} is {width}x{height} = {width * height} pixels, "
                f"more than the limit of {max_pixels}. Replace it with a smaller image "
                "or raise max_pixels.",
            )

        info = CoverInfo(
            width=width,
            height=height,
            format=image_file.format or "",
            mode=image_file.mode,
            extension_mismatch=_is_extension_mismatch(name, image_file.format),
        )

        try:
            # A freshly opened file is positioned on its first frame, so load()
            # decodes only that frame of an animated GIF or WebP.
            image_file.load()
            oriented = ImageOps.exif_transpose(image_file)
        except (OSError, SyntaxError, ValueError) as error:
            raise CoverRejectedError(
                REASON_TRUNCATED,
                f"{label} has a valid {info.format} header but its image "
                f"data is incomplete or corrupt ({error}). Download or export it again.",
            ) from error

    try:
        rgb = _convert_to_rgb(oriented)
    except ValueError as error:
        raise CoverRejectedError(
            REASON_UNREADABLE,
            f"{label} uses Pillow mode {info.mode!r}, which cannot be "
            f"converted to RGB ({error}). Convert it to an 8-bit RGB image.",
        ) from error
    return rgb, info


def resize_cover(image: Image.Image, size: int, policy: str = "pad") -> np.ndarray:
    """Resize an RGB image to a square (size, size, 3) uint8 array.

    Policy "pad" scales the longer side to `size`, keeping the aspect ratio, and
    centres the result on a white square. Policy "crop" scales the shorter side to
    `size` and keeps the centre square. Both use Lanczos resampling.

    Raises:
        ValueError: for an unknown policy, a size below 1 or a non-RGB image.
    """
    if policy not in RESIZE_POLICIES:
        raise ValueError(
            f"Unknown resize policy {policy!r}. Use one of: {', '.join(RESIZE_POLICIES)}."
        )
    size = operator.index(size)
    if size < 1:
        raise ValueError(f"Resize size must be at least 1 pixel, got {size}.")
    if image.mode != "RGB":
        raise ValueError(
            f"resize_cover expects an RGB image, got mode {image.mode!r}. "
            "Open the cover with open_cover_rgb first."
        )

    target = (size, size)
    if policy == "pad":
        resized = ImageOps.pad(image, target, method=Image.Resampling.LANCZOS, color=_WHITE)
    else:
        resized = ImageOps.fit(image, target, method=Image.Resampling.LANCZOS)
    return np.array(resized, dtype=np.uint8)


def load_cover_array(path: str | Path, size: int, policy: str, max_pixels: int) -> np.ndarray:
    """Decode a cover file and resize it to a (size, size, 3) uint8 array.

    Raises the errors of open_cover_rgb and resize_cover.
    """
    image, _ = open_cover_rgb(path, max_pixels)
    return resize_cover(image, size, policy)


def load_cover_bytes_array(data: bytes, size: int, policy: str, max_pixels: int, name: str) -> np.ndarray:
    """Decode the bytes of a cover file and resize them to a (size, size, 3) uint8 array.

    Gives the same array as load_cover_array on a file with this content. Raises the
    errors of open_cover_bytes and resize_cover.
    """
    image, _ = open_cover_bytes(data, max_pixels, name)
    return resize_cover(image, size, policy)


def _is_missing_value(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, (str, os.PathLike)):
        return False
    # NaN and pandas.NaT are unequal to themselves. Comparing pandas.NA returns NA,
    # whose truth value raises TypeError.
    try:
        return bool(value != value)
    except TypeError:
        return True


def _check_max_pixels(max_pixels: int) -> None:
    if max_pixels <= 0:
        raise ValueError(f"max_pixels must be a positive pixel count, got {max_pixels!r}.")


def _check_file_not_empty(path: Path) -> None:
    try:
        file_size = path.stat().st_size
    except FileNotFoundError as error:
        raise CoverRejectedError(
            REASON_MISSING_FILE,
            f"Cover file {str(path)!r} does not exist. Check that the covers folder is complete.",
        ) from error
    except OSError as error:
        raise CoverRejectedError(
            REASON_UNREADABLE,
            f"Cover file {str(path)!r} cannot be read ({error}). Check its permissions.",
        ) from error

    if file_size == 0:
        raise CoverRejectedError(
            REASON_EMPTY_FILE,
            f"Cover file {str(path)!r} is empty (0 bytes). Download or export it again.",
        )


def _is_extension_mismatch(path: PurePath, image_format: str | None) -> bool:
    extension = path.suffix.lower()
    expected_formats = _FORMATS_BY_EXTENSION.get(extension)
    if expected_formats is None:
        registered_format = Image.registered_extensions().get(extension)
        expected_formats = frozenset({registered_format}) if registered_format else frozenset()
    return image_format not in expected_formats


def _convert_to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in _SIXTEEN_BIT_MODES or image.mode == "F":
        image = _scale_to_8bit_grayscale(image)
    if image.has_transparency_data:
        return _composite_on_white(image)
    return image.convert("RGB")


def _scale_to_8bit_grayscale(image: Image.Image) -> Image.Image:
    """Scale a 16-bit, 32-bit integer or float grayscale image to mode "L" or "LA".

    Pillow's own conversion clips these values at 255 instead of scaling them.
    Integer modes are read as 16-bit, so 0..65535 maps to 0..255.
    """
    values = np.asarray(image)
    if image.mode == "F":
        scaled = _scale_float_to_8bit(values)
    else:
        # NOTE: mode "I" can hold any 32-bit value but is scaled as 16-bit data, so
        # values outside 0..65535 are clipped to black or white.
        scaled = np.clip(values.astype(np.float64), 0.0, 65535.0) / 257.0
    gray = Image.fromarray(np.rint(scaled).astype(np.uint8))

    # A 16-bit grayscale PNG marks one gray value as transparent with its tRNS chunk.
    transparent_value = image.info.get("transparency")
    if image.mode != "F" and isinstance(transparent_value, int):
        alpha = np.where(values == transparent_value, 0, 255).astype(np.uint8)
        return Image.merge("LA", (gray, Image.fromarray(alpha)))
    return gray


def _scale_float_to_8bit(values: np.ndarray) -> np.ndarray:
    # NOTE: float images have no fixed range. Values inside 0..1 are taken as
    # intensities in that range, and any other range is stretched from its minimum
    # and maximum, so the brightness of such covers is relative to the cover itself.
    finite = np.where(np.isfinite(values), values, 0.0).astype(np.float64)
    low = float(finite.min())
    high = float(finite.max())
    if low >= 0.0 and high <= 1.0:
        return finite * 255.0
    if high > low:
        return (finite - low) * (255.0 / (high - low))
    return np.clip(finite, 0.0, 255.0)


def _composite_on_white(image: Image.Image) -> Image.Image:
    if image.mode == "La":
        # Pillow converts premultiplied "La" only to "LA".
        image = image.convert("LA")
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, _WHITE)
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background
