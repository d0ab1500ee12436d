#!/usr/bin/env python3
"""Create template.yaml's DynamoDB tables and SQS queues on the local engines.

moto's CloudFormation ignores the SAM transform, so the dev shell and demo
create the resources here instead -- read from template.yaml itself, so names
and settings cannot drift from what is deployed. Idempotent.

    eval "$(python3 scripts/engines.py --foreground-env ...)"   # or set by hand
    .venv/bin/python scripts/create-resources.py --prefix synchub

Prints NAME=value for every function environment variable in the template
that names a created resource (SYNC_QUEUE_URL, SYNC_DLQ_URL, ITEMS_TABLE, ...).
"""

import argparse
import json
import os
import re
import sys

import boto3
import yaml
from botocore.exceptions import ClientError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class CfnLoader(yaml.SafeLoader):
    pass


def _cfn_tag(loader, tag, node):
    # !Ref X -> {"Ref": X}; !Sub/!GetAtt/... -> {"Fn::Sub": ...}, the long form.
    name = tag.lstrip("!")
    key = "Ref" if name == "Ref" else f"Fn::{name}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {key: value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


class LocalStack:
    """Resolves template intrinsics against resources created on demand."""

    def __init__(self, template, params):
        self.resources = template["Resources"]
        self.params = params
        self.created = {}  # logical id -> {"Ref": ..., "Arn": ...}
        self.ddb = boto3.client("dynamodb")
        self.sqs = boto3.client("sqs")

    def resolve(self, v):
        if isinstance(v, list):
            return [self.resolve(x) for x in v]
        if not isinstance(v, dict):
            return v
        if set(v) == {"Ref"}:
            name = v["Ref"]
            return self.params[name] if name in self.params else self.create(name)["Ref"]
        if set(v) == {"Fn::GetAtt"}:
            logical, attr = v["Fn::GetAtt"]
            return self.create(logical)[attr]
        if set(v) == {"Fn::Sub"} and isinstance(v["Fn::Sub"], str):
            def sub(m):
                name = m.group(1)
                if name not in self.params:
                    raise SystemExit(f"create-resources: cannot resolve ${{{name}}} locally")
                return str(self.params[name])
            return re.sub(r"\$\{([^}!]+)\}", sub, v["Fn::Sub"])
        if any(k == "Ref" or k.startswith("Fn::") for k in v):
            raise SystemExit(f"create-resources: unsupported intrinsic {v}")
        return {k: self.resolve(x) for k, x in v.items()}

    def create(self, logical):
        if logical not in self.created:
            res = self.resources[logical]
            make = {"AWS::DynamoDB::Table": self.create_table, "AWS::SQS::Queue": self.create_queue}.get(res["Type"])
            if make is None:
                raise SystemExit(f"create-resources: {logical} ({res['Type']}) has no local equivalent")
            self.created[logical] = make(self.resolve(res.get("Properties", {})))
        return self.created[logical]

    def create_table(self, props):
        name = props["TableName"]
        args = {k: props[k] for k in ("TableName", "BillingMode", "AttributeDefinitions", "KeySchema",
                                      "GlobalSecondaryIndexes", "LocalSecondaryIndexes") if k in props}
        if "SSESpecification" in props:
            # CloudFormation says SSEEnabled, the API says Enabled.
            args["SSESpecification"] = {"Enabled": bool(props["SSESpecification"].get("SSEEnabled"))}
        try:
            self.ddb.create_table(**args)
        except self.ddb.exceptions.ResourceInUseException:
            pass
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            current = self.ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
                self.ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        # PointInTimeRecovery: DynamoDB Local has no such operation, and it
        # changes nothing a test can observe.
        arn = self.ddb.describe_table(TableName=name)["Table"]["TableArn"]
        return {"Ref": name, "Arn": arn}

    def create_queue(self, props):
        name = props["QueueName"]
        # CloudFormation's queue properties are SQS attribute names, as strings.
        attrs = {k: (json.dumps(v) if isinstance(v, dict) else str(v).lower() if isinstance(v, bool) else str(v))
                 for k, v in props.items() if k not in ("QueueName", "Tags")}
        try:
            url = self.sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        except self.sqs.exceptions.QueueNameExists:
            # Exists with other settings: bring it in line with the template.
            url = self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
            self.sqs.set_queue_attributes(QueueUrl=url, Attributes=attrs)
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return {"Ref": url, "Arn": arn, "QueueName": name}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prefix", default="synchub", help="NamePrefix (default synchub)")
    ap.add_argument("--template", default=os.path.join(ROOT, "template.yaml"))
    args = ap.parse_args()

    # Refuse to run without local endpoints: this must never touch a real account.
    missing = [v for v in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS") if not os.environ.get(v)]
    if missing:
        raise SystemExit(f"create-resources: set {' and '.join(missing)} (see scripts/engines.py --foreground-env)")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")

    with open(args.template) as f:
        template = yaml.load(f, Loader=CfnLoader)
    params = {k: p.get("Default") for k, p in template.get("Parameters", {}).items()}
    params.update({"NamePrefix": args.prefix, "AWS::Region": os.environ["AWS_DEFAULT_REGION"],
                   "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"})

    stack = LocalStack(template, params)
    try:
        for logical, res in template["Resources"].items():
            if res["Type"] in ("AWS::DynamoDB::Table", "AWS::SQS::Queue"):
                stack.create(logical)
    except ClientError as e:
        raise SystemExit(f"create-resources: {e}")

    # The functions' environment says which variable names which resource.
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    envs = [template.get("Globals", {}).get("Function", {})] + [f.get("Properties", {}) for f in functions]
    lines = {}
    for env in envs:
        for var, value in env.get("Environment", {}).get("Variables", {}).items():
            if isinstance(value, dict) and value.get("Ref") in stack.created:
                lines[var] = stack.created[value["Ref"]]["Ref"]
    for var in sorted(lines):
        print(f"{var}={lines[var]}")


if __name__ == "__main__":
    sys.exit(main())
