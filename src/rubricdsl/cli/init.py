"""`rubric init`: a starting rubric from a labeling tool's configuration (see
`rubricdsl.language.scaffold`), or from a sample of records (`engine/sampling.py`
reads and types them, `scaffold.from_sample` writes the rubric).

- `rubric init SOURCE` prints the rubric; `-o FILE` writes it (atomically), never over
  a file that exists unless `--force`, and never over SOURCE;
- `--from label-studio|argilla|records` says what SOURCE is; without it, a file named
  `.jsonl`, `.ndjson`, `.csv`, `.tsv`, `.parquet` (or `.gz`), standard input (`-`), and
  a file given `--input-format` or `--sample` are records; else XML is Label Studio's
  labeling config, a JSON object with `fields`/`questions` Argilla's dataset settings,
  a JSON array or JSONL records;
- records: the first `--sample N` (1,000) are read as `rubric check` reads data
  files; the unreadable ones are counted and named in a note, never used;
- what could not be mapped is a `# NOTE:` comment in the rubric and one line on
  standard error (`rubric: note: …`).

Exit status: 0 written, 2 SOURCE cannot be read, is not a configuration, or holds no
readable record (one line on standard error), or FILE exists.
"""
from __future__ import annotations

import os

import click

from rubricdsl.cli.common import INPUT_FORMATS, fail, refuse_inputs, say, write_result

_RECORD_FILES = (".jsonl", ".ndjson", ".csv", ".tsv", ".parquet", ".gz")
NOTES_SHOWN = 10  # notes on standard error; the rubric has them all


@click.command("init")
@click.argument("source", metavar="SOURCE")
@click.option("-o", "--output", metavar="FILE", help="Write the rubric to FILE instead of standard output.")
@click.option("--from", "tool", type=click.Choice(["label-studio", "argilla", "records"]),
              help="What SOURCE is (default: records by the file's extension, else XML is Label Studio, a JSON "
                   "object with fields/questions is Argilla, a JSON array or JSONL is records).")
@click.option("--sample", type=click.IntRange(1), default=None, metavar="N",
              help="Records: read the first N records of SOURCE  [default: 1000].")
@click.option("--input-format", type=click.Choice(list(INPUT_FORMATS)), default="auto", show_default=True,
              help="Records: how SOURCE is read, as in rubric check (auto: by the extension).")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
def init(source: str, output: str | None, tool: str | None, sample: int | None, input_format: str,
         force: bool) -> None:
    """Write a starting rubric from SOURCE: a labeling tool's configuration, or a
    sample of records.

    SOURCE is a Label Studio labeling config (XML), Argilla dataset settings
    (JSON), or records (JSONL, a JSON array, CSV, TSV, Parquet). From a config,
    each control or question becomes a typed label that reads the tool's export,
    each data field an input. From records, each field of the sample becomes an
    input or a label typed by its values, and TODOs say what was guessed. TODO
    docstrings mark where the guideline's decisions go. Exit 2 when SOURCE cannot be
    read or FILE exists (see --force).
    """
    from rubricdsl.language.scaffold import MAX_CONFIG_BYTES, ScaffoldError, detect, scaffold  # noqa: PLC0415

    if output is not None and output != "-":
        refuse_inputs(output, [source], "-o")
        if os.path.lexists(output) and not force:
            fail(f"-o {output}: exists; give --force to replace it")
    if tool in ("label-studio", "argilla") and (sample is not None or input_format != "auto"):
        fail(f"--sample and --input-format read records, not a {tool} configuration")
    named = output if output not in (None, "-") else source
    name = os.path.splitext(os.path.basename(named))[0] if named != "-" else "rubric"
    name = name or "rubric"
    if name.endswith((".jsonl", ".csv", ".tsv", ".json")):  # data.jsonl.gz
        name = os.path.splitext(name)[0]
    records = tool == "records" or sample is not None or input_format != "auto" or source == "-" or (
        tool is None and source.lower().endswith(_RECORD_FILES))
    if not records:
        try:
            with open(source, "rb") as fh:
                data = fh.read(MAX_CONFIG_BYTES + 1)
        except OSError as e:
            fail(f"{source}: cannot read: {e.strerror or e}")
        try:
            records = tool is None and detect(data, source) == "records"
            if not records:
                result = scaffold(data, source, name, tool)
        except ScaffoldError as e:
            fail(str(e))
        if records and data.startswith(b"PAR1") and input_format == "auto":
            input_format = "parquet"
    if records:
        result = _from_records(source, name, sample or 1000, input_format)
    write_result(output, result.text)
    for note in result.notes[:NOTES_SHOWN]:  # after the rubric: a rubric that could not be written needs no notes
        say(f"rubric: note: {source}: {note}")
    if len(result.notes) > NOTES_SHOWN:
        say(f"rubric: note: {source}: {len(result.notes) - NOTES_SHOWN} more notes: see the rubric's # NOTE: lines")


def _from_records(source: str, name: str, limit: int, input_format: str):
    from rubricdsl.engine.reading import DataError  # noqa: PLC0415
    from rubricdsl.engine.sampling import infer_fields, read_sample  # noqa: PLC0415
    from rubricdsl.language.scaffold import from_sample  # noqa: PLC0415

    try:
        got = read_sample(source, limit, input_format)
    except DataError as e:
        fail(str(e))
    shown = "; ".join(f"{got.name}:{line}: {why}" for line, why in got.first_unreadable)
    more = ", …" if got.unreadable > len(got.first_unreadable) else ""
    if got.read == 0:
        fail(f"{got.name}: no record to write a rubric from (the file holds none)")
    if not got.records:
        fail(f"{got.name}: no readable record in the {got.read} read, so no rubric ({shown}{more})")
    fields, notes = infer_fields(got)
    if got.unreadable:
        verb = "is" if got.unreadable == 1 else "are"
        notes.insert(0, f"{got.unreadable} of the {got.read} records read {verb} unreadable and not used "
                        f"({shown}{more})")
    return from_sample(fields, notes, name, file_name=os.path.basename(got.name), read=got.read,
                       unreadable=got.unreadable, more=got.more, table=got.table)
