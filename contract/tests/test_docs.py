"""docs/integrating.md shows the example the contract job runs, word for word."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_guide_shows_the_example_that_ci_runs():
    guide = (ROOT / "docs" / "integrating.md").read_text()
    shown = re.search(
        r"<!-- example:start -->\n```python\n(.*?)```\n<!-- example:end -->",
        guide,
        re.DOTALL,
    )
    assert shown is not None, "the example block is missing from the guide"
    assert shown.group(1) == (ROOT / "contract" / "example.py").read_text()


def test_the_readme_links_the_guide():
    assert "docs/integrating.md" in (ROOT / "README.md").read_text()
