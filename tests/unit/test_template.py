from __future__ import annotations

import pytest

from replyloop.local.template import Resolver, TemplateError, load_template
from tests.conftest import TEMPLATE


def test_the_template_parses_with_its_intrinsics():
    template = load_template(TEMPLATE)
    api = template["Resources"]["ApiFunction"]["Properties"]
    statement = api["Policies"][0]["Statement"][0]
    assert statement["Resource"][0] == {"Fn::GetAtt": ["DataTable", "Arn"]}
    assert template["Globals"]["Function"]["Environment"]["Variables"]["TABLE_NAME"] == {"Ref": "DataTable"}


def test_resolver_handles_sub_if_and_parameters():
    template = load_template(TEMPLATE)
    resolver = Resolver(template, region="eu-west-1", account_id="1", stack_name="s")
    resolver.refs["DataTable"] = "tbl"
    resolver.attributes[("DataTable", "Arn")] = "arn:tbl"
    assert resolver.resolve({"Fn::Sub": "${DataTable.Arn}/index/*"}) == "arn:tbl/index/*"
    assert resolver.resolve({"Fn::Sub": "${AWS::Region}-${DataTable}"}) == "eu-west-1-tbl"
    assert resolver.resolve({"Ref": "MaxBodyBytes"}) == "65536"
    assert resolver.condition("HasAlarmEmail") is False
    assert resolver.resolve([{"Ref": "AWS::NoValue"}, 1]) == [1]


def test_unknown_references_are_errors_not_guesses():
    resolver = Resolver(load_template(TEMPLATE), region="r", account_id="1", stack_name="s")
    with pytest.raises(TemplateError, match="Nope"):
        resolver.resolve({"Ref": "Nope"})


def test_traces_carry_no_customer_text():
    """Powertools' Tracer would put every handler response and error message (customer text) into X-Ray."""
    variables = load_template(TEMPLATE)["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
    assert variables["POWERTOOLS_TRACER_CAPTURE_ERROR"] == "false"
