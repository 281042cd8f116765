"""`replyloop console publish`: the built console and its config.json land in the stack's bucket (moto)."""

from __future__ import annotations

import json

import boto3
import pytest
from click.testing import CliRunner

from replyloop.cli import main
from replyloop.operations.console import ConsolePublishError, ConsoleTarget


@pytest.fixture
def dist(tmp_path):
    folder = tmp_path / "dist"
    folder.mkdir()
    (folder / "index.html").write_text("<!doctype html><title>replyloop console</title>")
    (folder / "main.js").write_text("console.log('console')")
    (folder / "styles.css").write_text("body{}")
    (folder / "config.json").write_text('{"auth": {"mode": "dev"}}')  # a stray local config is never shipped
    return folder


def deployed(stack, **outputs: str) -> str:
    """A CloudFormation stack in moto whose outputs are the console's (as the real template's are)."""
    cloudfront = boto3.client("cloudfront")
    distribution = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": "console",
            "Comment": "",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "console",
                        "DomainName": "bucket.s3.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {"TargetOriginId": "console", "ViewerProtocolPolicy": "redirect-to-https"},
        }
    )["Distribution"]
    values = {
        "ConsoleBucketName": stack.buckets["ConsoleBucket"],
        "ApiUrl": "https://abc123.execute-api.us-east-1.amazonaws.com",
        "UserPoolClientId": "client123",
        "UserPoolDomain": "replyloop-123456789012.auth.us-east-1.amazoncognito.com",
        "ConsoleUrl": f"https://{distribution['DomainName']}/",
        "ConsoleDistributionId": distribution["Id"],
        **outputs,
    }
    template = {
        "Resources": {"Marker": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {key: {"Value": value} for key, value in values.items() if value},
    }
    boto3.client("cloudformation").create_stack(StackName="prod", TemplateBody=json.dumps(template))
    return str(distribution["Id"])


def test_publish_uploads_the_build_and_the_stack_config(stack, dist):
    distribution_id = deployed(stack)
    result = CliRunner().invoke(main, ["console", "publish", "--stack", "prod", "--dist", str(dist)])
    assert result.exit_code == 0, result.output
    assert "Published 4 files" in result.output

    s3 = boto3.client("s3")
    bucket = stack.buckets["ConsoleBucket"]
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert keys == {"index.html", "main.js", "styles.css", "config.json"}
    page = s3.get_object(Bucket=bucket, Key="index.html")
    assert page["ContentType"] == "text/html"
    assert page["CacheControl"] == "no-cache"
    assert "javascript" in s3.get_object(Bucket=bucket, Key="main.js")["ContentType"]
    config = json.loads(s3.get_object(Bucket=bucket, Key="config.json")["Body"].read())
    assert config == {
        "apiUrl": "https://abc123.execute-api.us-east-1.amazonaws.com",
        "auth": {
            "mode": "cognito",
            "domain": "replyloop-123456789012.auth.us-east-1.amazoncognito.com",
            "clientId": "client123",
        },
    }
    invalidations = boto3.client("cloudfront").list_invalidations(DistributionId=distribution_id)
    assert invalidations["InvalidationList"]["Quantity"] == 1


def test_an_unbuilt_console_is_refused_with_what_to_do(stack, tmp_path):
    deployed(stack)
    result = CliRunner().invoke(main, ["console", "publish", "--stack", "prod", "--dist", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "make console" in result.output


def test_a_stack_from_an_older_template_is_refused(stack, dist):
    deployed(stack, UserPoolDomain="", ConsoleUrl="")
    result = CliRunner().invoke(main, ["console", "publish", "--stack", "prod", "--dist", str(dist)])
    assert result.exit_code == 1
    assert "no output UserPoolDomain, ConsoleUrl" in result.output
    assert "sam deploy" in result.output


def test_an_unknown_stack_says_so(stack, dist):
    result = CliRunner().invoke(main, ["console", "publish", "--stack", "nope", "--dist", str(dist)])
    assert result.exit_code == 1
    assert "Cannot read stack 'nope'" in result.output


def test_the_config_trims_a_trailing_slash():
    target = ConsoleTarget("b", "https://api.example/", "c", "d.auth", "https://x/")
    assert target.config()["apiUrl"] == "https://api.example"
    with pytest.raises(ConsolePublishError):
        ConsoleTarget.from_outputs("s", {"ApiUrl": "x"})
