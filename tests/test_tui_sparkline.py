"""The master panel's sparkline, drawn for less, gives Textual's segments cell for cell."""

from __future__ import annotations

import numpy as np
import pytest
from rich.color import Color
from rich.console import Console
from textual.renderables.sparkline import Sparkline as SparklineRenderable

from bridge.tui.sparkline import FastSparklineRenderable


@pytest.mark.parametrize(
    ("n", "width", "height"),
    [(0, 40, 2), (1, 40, 2), (7, 40, 2), (200, 326, 2), (200, 76, 2), (333, 50, 3), (50, 50, 1)],
)
def test_the_same_segments_as_textuals_sparkline(n: int, width: int, height: int) -> None:
    rng = np.random.default_rng(n + width)
    data = np.cumsum(rng.normal(0, 1.2, n)).round(1).tolist()
    if n > 10:
        data[3:9] = [data[3]] * 6  # a held fader: equal bars share a style
    colors = {"min_color": Color.parse("#1b3a5c"), "max_color": Color.parse("#4ea1ff")}
    console = Console(width=width, force_terminal=True, color_system="truecolor")
    options = console.options.update(width=width)
    plain = list(
        console.render(SparklineRenderable(data, width=width, height=height, **colors), options)
    )
    fast = list(
        console.render(FastSparklineRenderable(data, width=width, height=height, **colors), options)
    )
    assert fast == plain
    if n >= 2:
        assert sum(len(s.text) for s in fast if s.text != "\n") == width * height  # every cell
