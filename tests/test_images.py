"""Tests for game_genres.images on small images that each test writes itself."""

from __future__ import annotations

import os
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from game_genres.images import (
    IMAGE_EXTENSIONS,
    REASON_EMPTY_FILE,
    REASON_MISSING_FILE,
    REASON_MISSING_PATH,
    REASON_PATH_OUTSIDE,
    REASON_TOO_LARGE,
    REASON_TRUNCATED,
    REASON_UNREADABLE,
    REASON_UNSUPPORTED_EXTENSION,
    CoverInfo,
    CoverRejectedError,
    load_cover_array,
    open_cover_rgb,
    resize_cover,
    resolve_cover_path,
)

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)
MAX_PIXELS = 1_000_000


@pytest.fixture
def covers(tmp_path: Path) -> Path:
    folder = tmp_path / "covers"
    folder.mkdir()
    return folder


def save_image(path: Path, image: Image.Image, **save_options) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **save_options)
    return path


def save_red_png(path: Path) -> Path:
    return save_image(path, Image.new("RGB", (4, 4), RED), format="PNG")


def noise_image(width: int, height: int) -> Image.Image:
    pixels = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def cut_in_half(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def png_chunk(chunk_type: bytes, payload: bytes) -> bytes:
    checksum = zlib.crc32(chunk_type + payload)
    return struct.pack(">I", len(payload)) + chunk_type + payload + struct.pack(">I", checksum)


def write_png_header_only(path: Path, width: int, height: int) -> Path:
    """Write a PNG whose header claims width x height but whose data is one empty row."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00"))
        + png_chunk(b"IEND", b"")
    )
    path.write_bytes(data)
    return path


def rejection_reason(function, *args) -> str:
    with pytest.raises(CoverRejectedError) as caught:
        function(*args)
    return caught.value.reason


def pixel(image: Image.Image, x: int, y: int) -> tuple[int, ...]:
    return tuple(int(value) for value in np.asarray(image)[y, x])


# resolve_cover_path


def test_resolve_existing_file(covers: Path) -> None:
    expected = save_red_png(covers / "a.png")

    assert resolve_cover_path(covers, "a.png") == expected.resolve()


def test_resolve_subfolder_path(covers: Path) -> None:
    expected = save_red_png(covers / "snes" / "rpg" / "a.png")

    assert resolve_cover_path(covers, "snes/rpg/a.png") == expected.resolve()


def test_resolve_backslash_subfolder_path(covers: Path) -> None:
    expected = save_red_png(covers / "snes" / "a.png")

    assert resolve_cover_path(covers, "snes\\a.png") == expected.resolve()


def test_resolve_strips_whitespace(covers: Path) -> None:
    expected = save_red_png(covers / "a.png")

    assert resolve_cover_path(covers, "  a.png\n") == expected.resolve()


def test_resolve_uppercase_extension(covers: Path) -> None:
    expected = save_red_png(covers / "a.PNG")

    assert resolve_cover_path(str(covers), "a.PNG") == expected.resolve()


def test_resolve_inner_parent_segment(covers: Path) -> None:
    expected = save_red_png(covers / "a.png")
    (covers / "snes").mkdir()

    assert resolve_cover_path(covers, "snes/../a.png") == expected.resolve()


def test_resolve_symlink_inside_allowed(covers: Path) -> None:
    target = save_red_png(covers / "real" / "a.png")
    (covers / "link.png").symlink_to(target)

    assert resolve_cover_path(covers, "link.png") == target.resolve()


def test_resolve_missing_file(covers: Path) -> None:
    assert rejection_reason(resolve_cover_path, covers, "absent.png") == REASON_MISSING_FILE


def test_resolve_folder_named_like_image(covers: Path) -> None:
    (covers / "folder.jpg").mkdir()

    assert rejection_reason(resolve_cover_path, covers, "folder.jpg") == REASON_MISSING_FILE


def test_resolve_parent_escape(covers: Path) -> None:
    save_red_png(covers.parent / "outside.png")

    assert rejection_reason(resolve_cover_path, covers, "../outside.png") == REASON_PATH_OUTSIDE


def test_resolve_nested_parent_escape(covers: Path) -> None:
    save_red_png(covers.parent / "outside.png")
    (covers / "snes").mkdir()

    reason = rejection_reason(resolve_cover_path, covers, "snes/../../outside.png")

    assert reason == REASON_PATH_OUTSIDE


def test_resolve_absolute_path(covers: Path) -> None:
    inside = save_red_png(covers / "a.png")

    assert rejection_reason(resolve_cover_path, covers, str(inside)) == REASON_PATH_OUTSIDE


@pytest.mark.parametrize("cover", ["C:\\covers\\a.png", "C:/covers/a.png", "\\a.png"])
def test_resolve_windows_absolute_path(covers: Path, cover: str) -> None:
    save_red_png(covers / "a.png")

    assert rejection_reason(resolve_cover_path, covers, cover) == REASON_PATH_OUTSIDE


def test_resolve_symlink_escape(covers: Path) -> None:
    outside = save_red_png(covers.parent / "outside.png")
    (covers / "link.png").symlink_to(outside)

    assert rejection_reason(resolve_cover_path, covers, "link.png") == REASON_PATH_OUTSIDE


def test_resolve_symlinked_folder_escape(covers: Path) -> None:
    save_red_png(covers.parent / "elsewhere" / "a.png")
    (covers / "linked").symlink_to(covers.parent / "elsewhere")

    assert rejection_reason(resolve_cover_path, covers, "linked/a.png") == REASON_PATH_OUTSIDE


@pytest.mark.parametrize(
    "cover", [None, float("nan"), np.float32("nan"), pd.NA, pd.NaT, "", "   "]
)
def test_resolve_missing_value(covers: Path, cover: object) -> None:
    assert rejection_reason(resolve_cover_path, covers, cover) == REASON_MISSING_PATH


def test_resolve_symlink_loop(covers: Path) -> None:
    (covers / "loop.png").symlink_to(covers / "loop.png")

    assert rejection_reason(resolve_cover_path, covers, "loop.png") == REASON_MISSING_FILE


def test_resolve_unsupported_extension(covers: Path) -> None:
    (covers / "notes.txt").write_text("not an image")

    reason = rejection_reason(resolve_cover_path, covers, "notes.txt")

    assert reason == REASON_UNSUPPORTED_EXTENSION


def test_resolve_no_extension(covers: Path) -> None:
    save_image(covers / "cover", Image.new("RGB", (4, 4), RED), format="PNG")

    assert rejection_reason(resolve_cover_path, covers, "cover") == REASON_UNSUPPORTED_EXTENSION


def test_resolve_missing_covers_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="Covers folder"):
        resolve_cover_path(tmp_path / "absent", "a.png")


def test_resolve_rejects_number_value(covers: Path) -> None:
    with pytest.raises(TypeError, match="int"):
        resolve_cover_path(covers, 42)  # type: ignore[arg-type]


def test_image_extensions_lower_case() -> None:
    assert all(extension == extension.lower() for extension in IMAGE_EXTENSIONS)


# CoverRejectedError


def test_rejection_error_survives_pickle() -> None:
    error = CoverRejectedError(REASON_EMPTY_FILE, "Cover file 'a.png' is empty.")

    restored = pickle.loads(pickle.dumps(error))

    assert restored.reason == REASON_EMPTY_FILE
    assert restored.detail == error.detail


def test_rejection_error_unknown_reason() -> None:
    with pytest.raises(ValueError, match="not_a_reason"):
        CoverRejectedError("not_a_reason", "detail")


# open_cover_rgb: rejections


def test_open_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.png"

    assert rejection_reason(open_cover_rgb, path, MAX_PIXELS) == REASON_MISSING_FILE


def test_open_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")

    assert rejection_reason(open_cover_rgb, path, MAX_PIXELS) == REASON_EMPTY_FILE


def test_open_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "noise.jpg"
    path.write_bytes(np.random.default_rng(0).bytes(2048))

    assert rejection_reason(open_cover_rgb, path, MAX_PIXELS) == REASON_UNREADABLE


def test_open_truncated_jpeg(tmp_path: Path) -> None:
    path = save_image(tmp_path / "cut.jpg", noise_image(64, 64), format="JPEG")
    cut_in_half(path)

    assert rejection_reason(open_cover_rgb, path, MAX_PIXELS) == REASON_TRUNCATED


def test_open_truncated_png(tmp_path: Path) -> None:
    path = save_image(tmp_path / "cut.png", noise_image(64, 64), format="PNG")
    cut_in_half(path)

    assert rejection_reason(open_cover_rgb, path, MAX_PIXELS) == REASON_TRUNCATED


def test_open_oversize_image(tmp_path: Path) -> None:
    path = save_image(tmp_path / "big.png", Image.new("RGB", (1200, 1000), RED), format="PNG")

    assert rejection_reason(open_cover_rgb, path, MAX_PIXELS) == REASON_TOO_LARGE


def test_open_oversize_checked_before_decode(tmp_path: Path) -> None:
    # The pixel data is cut, so any attempt to decode would fail as truncated.
    path = save_image(tmp_path / "big.png", noise_image(1200, 1000), format="PNG")
    cut_in_half(path)

    assert rejection_reason(open_cover_rgb, path, MAX_PIXELS) == REASON_TOO_LARGE


def test_open_cut_oversize_within_limit(tmp_path: Path) -> None:
    path = save_image(tmp_path / "big.png", noise_image(1200, 1000), format="PNG")
    cut_in_half(path)

    assert rejection_reason(open_cover_rgb, path, 2 * MAX_PIXELS) == REASON_TRUNCATED


def test_open_header_claims_huge_size(tmp_path: Path) -> None:
    path = write_png_header_only(tmp_path / "claims.png", 50_000, 40_000)

    assert rejection_reason(open_cover_rgb, path, MAX_PIXELS) == REASON_TOO_LARGE


def test_open_pillow_bomb_limit(tmp_path: Path) -> None:
    # 2 billion pixels pass max_pixels but exceed Pillow's own decompression-bomb limit.
    path = write_png_header_only(tmp_path / "claims.png", 50_000, 40_000)

    assert rejection_reason(open_cover_rgb, path, 10**12) == REASON_TOO_LARGE


def test_open_exact_pixel_limit(tmp_path: Path) -> None:
    path = save_image(tmp_path / "a.png", Image.new("RGB", (10, 10), RED), format="PNG")

    image, _ = open_cover_rgb(path, 100)

    assert image.size == (10, 10)


@pytest.mark.parametrize("max_pixels", [0, -1])
def test_open_invalid_max_pixels(tmp_path: Path, max_pixels: int) -> None:
    path = save_red_png(tmp_path / "a.png")

    with pytest.raises(ValueError, match="max_pixels"):
        open_cover_rgb(path, max_pixels)


# open_cover_rgb: formats, modes and orientation


def test_open_png_info(tmp_path: Path) -> None:
    path = save_image(tmp_path / "a.png", Image.new("RGB", (6, 4), RED), format="PNG")

    _, info = open_cover_rgb(path, MAX_PIXELS)

    assert info == CoverInfo(width=6, height=4, format="PNG", mode="RGB", extension_mismatch=False)


def test_open_png_named_jpg(tmp_path: Path) -> None:
    path = save_image(tmp_path / "a.jpg", Image.new("RGB", (4, 4), BLUE), format="PNG")

    image, info = open_cover_rgb(path, MAX_PIXELS)

    assert info.format == "PNG"
    assert info.extension_mismatch is True
    assert pixel(image, 2, 2) == BLUE


def test_open_returns_rgb_mode(tmp_path: Path) -> None:
    path = save_image(tmp_path / "a.png", Image.new("P", (4, 4), 3), format="PNG")

    image, _ = open_cover_rgb(path, MAX_PIXELS)

    assert image.mode == "RGB"


def test_open_palette_transparency_white(tmp_path: Path) -> None:
    palette_image = Image.new("P", (2, 1))
    palette_image.putpalette([*RED, *GREEN] + [0, 0, 0] * 254)
    palette_image.putpixel((0, 0), 0)
    palette_image.putpixel((1, 0), 1)
    path = save_image(tmp_path / "a.png", palette_image, format="PNG", transparency=0)

    image, info = open_cover_rgb(path, MAX_PIXELS)

    assert info.mode == "P"
    assert pixel(image, 0, 0) == WHITE
    assert pixel(image, 1, 0) == GREEN


def test_open_rgba_transparency_white(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (3, 1), (0, 0, 0, 0))
    rgba.putpixel((1, 0), (*RED, 255))
    rgba.putpixel((2, 0), (0, 0, 0, 128))
    path = save_image(tmp_path / "a.png", rgba, format="PNG")

    image, info = open_cover_rgb(path, MAX_PIXELS)

    assert info.mode == "RGBA"
    assert pixel(image, 0, 0) == WHITE
    assert pixel(image, 1, 0) == RED
    assert pixel(image, 2, 0) == (127, 127, 127)


def test_open_gray_alpha_white(tmp_path: Path) -> None:
    path = save_image(tmp_path / "a.png", Image.new("LA", (2, 2), (0, 0)), format="PNG")

    image, _ = open_cover_rgb(path, MAX_PIXELS)

    assert pixel(image, 0, 0) == WHITE


def test_open_grayscale(tmp_path: Path) -> None:
    path = save_image(tmp_path / "a.png", Image.new("L", (4, 4), 100), format="PNG")

    image, info = open_cover_rgb(path, MAX_PIXELS)

    assert info.mode == "L"
    assert pixel(image, 1, 1) == (100, 100, 100)


def test_open_bilevel(tmp_path: Path) -> None:
    path = save_image(tmp_path / "a.png", Image.new("1", (4, 4), 1), format="PNG")

    image, _ = open_cover_rgb(path, MAX_PIXELS)

    assert pixel(image, 1, 1) == WHITE


def test_open_cmyk_jpeg(tmp_path: Path) -> None:
    cmyk_red = Image.new("CMYK", (8, 8), (0, 255, 255, 0))
    path = save_image(tmp_path / "a.jpg", cmyk_red, format="JPEG", quality=95)

    image, info = open_cover_rgb(path, MAX_PIXELS)
    red, green, blue = pixel(image, 4, 4)

    assert info.mode == "CMYK"
    assert red > 240
    assert green < 15
    assert blue < 15


def test_open_16bit_grayscale_png(tmp_path: Path) -> None:
    values = np.array([[0, 32768, 65535]], dtype=np.uint16)
    path = save_image(tmp_path / "a.png", Image.fromarray(values), format="PNG")

    image, info = open_cover_rgb(path, MAX_PIXELS)

    assert info.mode == "I;16"
    assert pixel(image, 0, 0) == (0, 0, 0)
    assert pixel(image, 1, 0) == (128, 128, 128)
    assert pixel(image, 2, 0) == WHITE


def test_open_16bit_transparent_value(tmp_path: Path) -> None:
    values = np.array([[1000, 2000]], dtype=np.uint16)
    path = save_image(tmp_path / "a.png", Image.fromarray(values), format="PNG", transparency=1000)

    image, _ = open_cover_rgb(path, MAX_PIXELS)

    assert pixel(image, 0, 0) == WHITE
    assert pixel(image, 1, 0) == (8, 8, 8)


def test_open_32bit_integer_tiff(tmp_path: Path) -> None:
    values = np.array([[0, 65535, 70000]], dtype=np.int32)
    path = save_image(tmp_path / "a.tif", Image.fromarray(values), format="TIFF")

    image, info = open_cover_rgb(path, MAX_PIXELS)

    assert info.mode == "I"
    assert pixel(image, 1, 0) == WHITE
    assert pixel(image, 2, 0) == WHITE


def test_open_unit_float_tiff(tmp_path: Path) -> None:
    values = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)
    path = save_image(tmp_path / "a.tif", Image.fromarray(values), format="TIFF")

    image, info = open_cover_rgb(path, MAX_PIXELS)

    assert info.mode == "F"
    assert pixel(image, 1, 0) == (128, 128, 128)


def test_open_wide_range_float_tiff(tmp_path: Path) -> None:
    values = np.array([[-10.0, 0.0, 10.0]], dtype=np.float32)
    path = save_image(tmp_path / "a.tif", Image.fromarray(values), format="TIFF")

    image, _ = open_cover_rgb(path, MAX_PIXELS)

    assert pixel(image, 0, 0) == (0, 0, 0)
    assert pixel(image, 1, 0) == (128, 128, 128)
    assert pixel(image, 2, 0) == WHITE


def test_open_exif_orientation(tmp_path: Path) -> None:
    # Orientation 6 means the stored pixels must turn 90 degrees clockwise for display,
    # so the stored top-left corner ends up top-right.
    stored = Image.new("RGB", (20, 10), WHITE)
    stored.paste(RED, (0, 0, 6, 6))
    exif = Image.Exif()
    exif[0x0112] = 6
    path = save_image(tmp_path / "a.jpg", stored, format="JPEG", quality=95, exif=exif)

    image, info = open_cover_rgb(path, MAX_PIXELS)
    top_right = pixel(image, 8, 1)
    top_left = pixel(image, 1, 1)

    assert (info.width, info.height) == (20, 10)
    assert image.size == (10, 20)
    assert top_right[0] > 200
    assert top_right[1] < 60
    assert top_left[1] > 200


def test_open_animated_gif_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (4, 4), color) for color in (RED, GREEN, BLUE)]
    path = tmp_path / "a.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)

    image, info = open_cover_rgb(path, MAX_PIXELS)

    assert info.format == "GIF"
    assert pixel(image, 1, 1) == RED


def test_open_animated_webp_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (4, 4), color) for color in (GREEN, RED)]
    path = tmp_path / "a.webp"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, lossless=True)

    image, _ = open_cover_rgb(path, MAX_PIXELS)

    assert pixel(image, 1, 1) == GREEN


def test_open_webp(tmp_path: Path) -> None:
    path = save_image(tmp_path / "a.webp", Image.new("RGB", (6, 4), BLUE), lossless=True)

    image, info = open_cover_rgb(path, MAX_PIXELS)

    assert info.format == "WEBP"
    assert info.extension_mismatch is False
    assert pixel(image, 3, 2) == BLUE


def test_open_bmp(tmp_path: Path) -> None:
    path = save_image(tmp_path / "a.bmp", Image.new("RGB", (6, 4), GREEN))

    image, info = open_cover_rgb(path, MAX_PIXELS)

    assert info.format == "BMP"
    assert info.extension_mismatch is False
    assert pixel(image, 3, 2) == GREEN


def test_open_jpeg_extension_matches(tmp_path: Path) -> None:
    path = save_image(tmp_path / "a.jpeg", Image.new("RGB", (4, 4), RED), format="JPEG")

    _, info = open_cover_rgb(path, MAX_PIXELS)

    assert info.extension_mismatch is False


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
def test_open_closes_file_handles(tmp_path: Path) -> None:
    path = save_red_png(tmp_path / "a.png")
    open_before = len(os.listdir("/proc/self/fd"))

    for _ in range(50):
        open_cover_rgb(path, MAX_PIXELS)

    assert len(os.listdir("/proc/self/fd")) <= open_before


def test_open_returns_loaded_copy(tmp_path: Path) -> None:
    path = save_red_png(tmp_path / "a.png")

    image, _ = open_cover_rgb(path, MAX_PIXELS)
    path.unlink()

    assert pixel(image, 0, 0) == RED


# resize_cover and load_cover_array


def test_resize_pad_centres_band() -> None:
    array = resize_cover(Image.new("RGB", (20, 10), RED), 8, "pad")

    assert array.shape == (8, 8, 3)
    assert array.dtype == np.uint8
    assert (array[:2] == WHITE).all()
    assert (array[2:6] == RED).all()
    assert (array[6:] == WHITE).all()


def test_resize_pad_is_default() -> None:
    image = Image.new("RGB", (20, 10), RED)

    assert np.array_equal(resize_cover(image, 8), resize_cover(image, 8, "pad"))


def test_resize_pad_tall_image() -> None:
    array = resize_cover(Image.new("RGB", (10, 20), RED), 8, "pad")

    assert (array[:, :2] == WHITE).all()
    assert (array[:, 2:6] == RED).all()
    assert (array[:, 6:] == WHITE).all()


def test_resize_crop_fills_square() -> None:
    array = resize_cover(Image.new("RGB", (20, 10), RED), 8, "crop")

    assert array.shape == (8, 8, 3)
    assert not (array == WHITE).all(axis=-1).any()


def test_resize_crop_keeps_centre() -> None:
    # Left and right thirds are blue, so a centred crop shows the red middle. Lanczos
    # resampling blends in a little blue at the crop edges.
    source = Image.new("RGB", (90, 30), BLUE)
    source.paste(RED, (30, 0, 60, 30))

    array = resize_cover(source, 8, "crop")

    assert (array[..., 0] > 200).all()
    assert (array[..., 2] < 40).all()


def test_resize_upscales_small_image() -> None:
    array = resize_cover(Image.new("RGB", (2, 2), RED), 16, "pad")

    assert array.shape == (16, 16, 3)


def test_resize_bad_policy() -> None:
    with pytest.raises(ValueError, match="'stretch'.*pad, crop"):
        resize_cover(Image.new("RGB", (4, 4), RED), 8, "stretch")


@pytest.mark.parametrize("size", [0, -3])
def test_resize_invalid_size(size: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        resize_cover(Image.new("RGB", (4, 4), RED), size, "pad")


def test_resize_rejects_non_rgb() -> None:
    with pytest.raises(ValueError, match="'RGBA'"):
        resize_cover(Image.new("RGBA", (4, 4), (*RED, 255)), 8, "pad")


def test_load_cover_array_shape(tmp_path: Path) -> None:
    path = save_image(tmp_path / "a.jpg", noise_image(30, 20), format="JPEG")

    array = load_cover_array(path, 16, "crop", MAX_PIXELS)

    assert array.shape == (16, 16, 3)
    assert array.dtype == np.uint8


def test_load_cover_array_deterministic(tmp_path: Path) -> None:
    path = save_image(tmp_path / "a.jpg", noise_image(30, 20), format="JPEG")

    first = load_cover_array(path, 16, "pad", MAX_PIXELS)
    second = load_cover_array(path, 16, "pad", MAX_PIXELS)

    assert np.array_equal(first, second)


def test_load_cover_array_rejects(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")

    assert rejection_reason(load_cover_array, path, 16, "pad", MAX_PIXELS) == REASON_EMPTY_FILE
