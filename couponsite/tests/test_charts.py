"""The server-drawn SVG charts: well-formed, escaped, labelled for people and readers."""

import xml.etree.ElementTree as ET

import pytest

from couponsite.charts import Series, chart_svg, label_every, nice_ceiling

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


@pytest.mark.parametrize("kind", ["bar", "line"])
def test_a_chart_is_well_formed_svg_with_a_title_and_description(kind):
    svg = chart_svg(
        title="Draws & wins <today>",
        labels=["09:00", "10:00", "11:00"],
        series=[Series("Draws", [3, 0, 7]), Series("Wins", [1, 0, 2])],
        kind=kind,
    )

    root = parse(svg)

    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert title.text == "Draws & wins <today>"
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert "Draws 10" in desc.text and "Wins 3" in desc.text
    legend = "".join(root.find(f"{SVG}g[@class='legend']").itertext())
    assert "Draws (10)" in legend and "Wins (3)" in legend


def test_bars_are_drawn_for_non_zero_buckets_each_with_its_figure():
    root = parse(
        chart_svg(
            title="Redemptions",
            labels=["a", "b", "c", "d"],
            series=[Series("Redemptions", [0, 4, 0, 1])],
        )
    )

    bars = root.findall(f".//{SVG}g[@class='series']/{SVG}rect")

    assert [bar.find(f"{SVG}title").text for bar in bars] == [
        "b: Redemptions 4",
        "d: Redemptions 1",
    ]
    # the taller bar is four times the shorter one
    heights = [float(bar.get("height")) for bar in bars]
    assert heights[0] == pytest.approx(4 * heights[1], rel=0.01)


def test_an_empty_chart_still_draws_its_axes():
    root = parse(
        chart_svg(title="Nothing yet", labels=["a", "b"], series=[Series("x", [0, 0])])
    )

    assert root.findall(f".//{SVG}g[@class='y-axis']/{SVG}text")[-1].text == "5"
    assert root.findall(f".//{SVG}g[@class='series']/{SVG}rect") == []


def test_a_series_must_fit_the_labels():
    with pytest.raises(ValueError, match="one value per label"):
        chart_svg(title="t", labels=["a"], series=[Series("x", [1, 2])])


def test_axes_use_round_numbers():
    assert [nice_ceiling(v) for v in (0, 1, 3, 7, 10, 11, 999_999)] == [
        1, 1, 5, 10, 10, 20, 1_000_000,
    ]  # fmt: skip
    assert [label_every(n) for n in (12, 24, 60, 3600)] == [1, 2, 5, 360]
