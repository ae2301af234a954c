"""Small PNG charts drawn with Pillow (no matplotlib): a labelled heat map."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

# Fonts that can draw Chinese, tried in order; without one, labels must be ASCII (see ``ascii_safe``).
CJK_FONTS = (
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
        if Path(path).exists():
            return ImageFont.truetype(path, size), path in CJK_FONTS
    return ImageFont.load_default(size), False


def has_cjk_font() -> bool:
    return _font(14, True)[1]


def _colour(v: float, vmax: float) -> tuple[int, int, int]:
    """White (0) → amber → deep red (vmax)."""
    t = 0.0 if vmax <= 0 else max(0.0, min(1.0, v / vmax))
    if t == 0:
        return (245, 247, 250)
    return (255, int(224 - 170 * t), int(160 - 130 * t))


def heatmap(rows: list[str], cols: list[str], values: list[list[float]], title: str) -> bytes:
    """A rows × cols heat map with the value written in each cell; returns PNG bytes."""
    font, _ = _font(14, True)
    small, _ = _font(12, True)
    cell_w, cell_h, pad = 72, 30, 12
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
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
