"""JUnit XML for `rubric test --junit`: one testsuite per rubric, one testcase per
example, in the shape GitLab and Jenkins display."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from rubricdsl.engine.examples import ExampleResult, describe


def junit_xml(suites: list[tuple[Any, list[ExampleResult]]]) -> str:
    root = ET.Element("testsuites", name="rubric test")
    total = failures = 0
    for rubric, results in suites:
        n_fail = sum(1 for r in results if not r.passed)
        total += len(results)
        failures += n_fail
        suite = ET.SubElement(root, "testsuite", name=rubric.name or rubric.ir.source_name,
                              tests=str(len(results)), failures=str(n_fail), errors="0", skipped="0",
                              file=rubric.ir.source_name)
        props = ET.SubElement(suite, "properties")
        for key, value in (("rubric.name", rubric.name), ("rubric.version", rubric.version),
                           ("rubric.sha256", rubric.sha256), ("rubric.file", rubric.ir.source_name)):
            ET.SubElement(props, "property", name=key, value=value)
        for res in results:
            case = ET.SubElement(suite, "testcase", name=res.title, classname=rubric.name or "rubric",
                                 file=rubric.ir.source_name, line=str(res.line))
            if not res.passed:
                fail = ET.SubElement(case, "failure", type="ExampleFailed",
                                     message=f"expected {describe(res.expected)}, got {describe(res.got)}")
                lines = [f"expected: {describe(res.expected)}", f"got:      {describe(res.got)}"]
                lines += [f"  - {f['kind']} {f['rule'] or f['label'] or ''}: {f['message']}" for f in res.findings]
                fail.text = "\n".join(lines)
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
