"""The service figures' bar chart, drawn on the server as SVG geometry (no script, no inline style: CSP)."""

from dataclasses import dataclass

WIDTH, LABEL_WIDTH, BAR_HEIGHT, GAP = 640, 220, 14, 10


@dataclass
class Bar:
    label: str
    received: int
    within: int
    y: int
    text_y: int
    received_length: float
    within_length: float
    value_x: float


def figures_chart(figures) -> dict:
    """Per line and sub-venue: a bar of requests received and, over it, those resolved within the limit."""
    plot = WIDTH - LABEL_WIDTH - 60
    top = max((figure.received for figure in figures), default=0) or 1
    bars = []
    for index, figure in enumerate(figures):
        y = index * (BAR_HEIGHT + GAP) + GAP
        length = round(plot * figure.received / top, 1)
        bars.append(
            Bar(
                label=f"{figure.line} · {figure.sub_venue}",
                received=figure.received,
                within=figure.resolved_within_limit,
                y=y,
                text_y=y + BAR_HEIGHT // 2,
                received_length=length,
                within_length=round(plot * figure.resolved_within_limit / top, 1),
                value_x=LABEL_WIDTH + length + 6,
            )
        )
    return {
        "width": WIDTH,
        "height": len(bars) * (BAR_HEIGHT + GAP) + GAP,
        "label_width": LABEL_WIDTH,
        "bar_height": BAR_HEIGHT,
        "bars": bars,
    }
