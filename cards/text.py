"""Plain-text rendering (terminal channel and text fallbacks)."""

from __future__ import annotations

from cards.model import Card


def render_text(card: Card, numbered: bool = True) -> str:
    lines = [f"【{card.title}】"]
    if card.body:
        lines.append(card.body)
    for k, v in card.fields:
        lines.append(f"  {k}：{v}")
    if card.state:
        lines.append(f"  ✅ {card.state}")
    else:
        n = 1
        if card.tags:
            t = card.tags
            opts = "  ".join(
                f"[{'x' if o.id in t.selected else ' '}] {o.label}" for o in t.options
            )
            lines.append(f"  可选标签（最多 {t.max_selected} 个）：{opts}")
        if numbered:
            for b in button_list(card):
                lines.append(f"  [{n}] {b.text}")
                n += 1
    if card.footer:
        lines.append(card.footer)
    return "\n".join(lines)


def button_list(card: Card):
    """Buttons in display order (tag submit last), as the terminal numbers them."""
    buttons = list(card.buttons)
    if card.tags and card.tags.submit:
        buttons.append(card.tags.submit)
    return buttons
