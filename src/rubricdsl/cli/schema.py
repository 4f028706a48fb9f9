"""`rubric schema`: the JSON Schema of the report."""
from __future__ import annotations

import click


@click.command()
@click.argument("what", type=click.Choice(["report"]), default="report")
def schema(what: str) -> None:
    """Print the JSON Schema of the `rubric check --format json` report."""
    import json  # noqa: PLC0415

    from rubricdsl.engine.report import report_schema  # noqa: PLC0415

    click.echo(json.dumps(report_schema(), indent=2))
