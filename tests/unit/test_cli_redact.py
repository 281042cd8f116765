"""`replyloop redact`: the export's redactor on stdin, line by line."""

from __future__ import annotations

import json

from click.testing import CliRunner

from replyloop.cli import main


def test_plain_lines_come_back_redacted_with_what_was_removed_on_stderr():
    text = "Hi, I am Maria Lopez, mail maria.lopez@example.com\nWhere is my order?\n"
    result = CliRunner().invoke(main, ["redact"], input=text)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["Hi, I am [NAME], mail [EMAIL]", "Where is my order?"]
    assert "email 1" in result.stderr and "name 1" in result.stderr


def test_json_lines_report_each_kind_and_the_region_reads_local_numbers():
    lines = [json.dumps("Ring me on 020 7946 0958, card 4111 1111 1111 1111"), json.dumps("No data here.")]
    result = CliRunner().invoke(main, ["redact", "--json", "--region", "gb"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first == {"text": "Ring me on [PHONE], card [CARD]", "removed": {"phone": 1, "card": 1}}
    assert second == {"text": "No data here.", "removed": {}}


def test_a_line_that_is_not_a_json_string_is_named():
    result = CliRunner().invoke(main, ["redact", "--json"], input='"fine"\n{"a": 1}\n')
    assert result.exit_code == 1
    assert "Line 2 is not a JSON string" in result.stderr
