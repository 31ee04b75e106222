"""Every operation of the API is driven by some flow of the contract run, so that
a new endpoint without one fails here, before the run's "never called" list
has to be read to notice it."""

import re
from pathlib import Path

from drf_spectacular.generators import SchemaGenerator

FLOW = Path(__file__).resolve().parents[1] / "flow"


def test_every_operation_of_the_schema_is_called_by_a_flow():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    source = "\n".join(path.read_text() for path in sorted(FLOW.glob("*.py")))
    missing = [
        f"{method.upper()} {path} ({operation['operationId']})"
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        # By the generated module's name, or by (method, path) (Flow.function).
        if not re.search(rf"\b{operation['operationId']}\b", source)
        and f'"{path}"' not in source
    ]
    assert not missing, f"no flow in contract/flow/ calls: {missing}"
