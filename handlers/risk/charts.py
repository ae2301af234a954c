"""Small PNG charts drawn with Pillow (no matplotlib): a labelled heat map."""

from __future__ import annotations

import io
import json
import logging
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

log = logging.getLogger(__name__)


def _packaged_cjk_font() -> tuple[str, ...]:
    """Noto Sans SC shipped by the ``pylopdf-fonts-zh-cn`` wheel (requirements.txt), so every
    host can label charts in Chinese without system font packages."""
    try:
        import pylopdf_fonts_zh_cn
    except ImportError:
        return ()
    return (str(pylopdf_fonts_zh_cn.sans_path()),)


# Fonts that can draw Chinese, tried in order; without one, callers label with ASCII codes.
CJK_FONTS = _packaged_cjk_font() + (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)
LATIN_FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",)
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=8)
def _font(size: int, cjk: bool) -> tuple[Font, bool]:
    for path in (CJK_FONTS if cjk else ()) + LATIN_FONTS:
        if not Path(path).exists():
            continue
        try:
            return ImageFont.truetype(path, size), path in CJK_FONTS
        except OSError as exc:
            log.warning("chart font %s could not be loaded (%s); trying the next one", path, exc)
    return ImageFont.load_default(size), False


@lru_cache(maxsize=1)
def has_cjk_font() -> bool:
    """True when a Chinese-capable font loads; otherwise says once how to fix it."""
    ok = _font(14, True)[1]
    if not ok:
        log.warning("no Chinese font for charts: labelling departments with codes; "
                    "install pylopdf-fonts-zh-cn (requirements.txt) to get Chinese labels")
    return ok


def _colour(v: float, vmax: float) -> tuple[int, int, int]:
    """White (0) → amber → deep red (vmax)."""
    t = 0.0 if vmax <= 0 else max(0.0, min(1.0, v / vmax))
    if t == 0:
        return (245, 247, 250)
    return (255, int(224 - 170 * t), int(160 - 130 * t))


def heatmap(rows: list[str], cols: list[str], values: list[list[float]], title: str) -> bytes:
    """A rows × cols heat map with the value written in each cell; returns PNG bytes. The title,
    labels and values are also stored as JSON in the PNG's ``Description`` text chunk (alt text
    for readers that cannot see the image, and what tests read)."""
    font, _ = _font(14, True)
    small, _ = _font(12, True)
    cell_w, cell_h, pad = 84, 30, 12
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_w = max([int(probe.textlength(r, font=font)) for r in rows] + [60]) + 2 * pad
    width = label_w + cell_w * max(1, len(cols)) + pad
    height = 44 + 24 + cell_h * max(1, len(rows)) + pad
    img = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(img)
    d.text((pad, 12), title, fill=(30, 30, 30), font=font)
    top = 44 + 24
    vmax = max((v for row in values for v in row), default=0.0)
    for j, c in enumerate(cols):
        x = label_w + j * cell_w
        d.text((x + cell_w / 2, top - 12), c, fill=(80, 80, 80), font=small, anchor="mm")
    for i, r in enumerate(rows):
        y = top + i * cell_h
        d.text((label_w - pad, y + cell_h / 2), r, fill=(30, 30, 30), font=font, anchor="rm")
        for j in range(len(cols)):
            v = values[i][j] if j < len(values[i]) else 0.0
            x = label_w + j * cell_w
            d.rectangle([x + 1, y + 1, x + cell_w - 1, y + cell_h - 1], fill=_colour(v, vmax))
            d.text((x + cell_w / 2, y + cell_h / 2), f"{v:g}", fill=(30, 30, 30), font=small, anchor="mm")
    meta = PngInfo()
    meta.add_itxt("Description", json.dumps({"title": title, "rows": rows, "cols": cols, "values": values},
                                            ensure_ascii=False))
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True, pnginfo=meta)
    return buf.getvalue()
