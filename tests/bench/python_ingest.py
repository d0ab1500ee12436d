"""The same ingest job as a Python Lambda with Powertools, for comparison.

Verifies the Standard Webhooks signature, validates the supplier event,
sends it to SQS with boto3 and logs one structured line, like webhook-ingest.
It calls the handler in a loop in one process (no runtime API round trips,
which flatters Python) and prints CPU seconds per 1,000 events.

    python tests/bench/python_ingest.py 1000   # with AWS_ENDPOINT_URL_SQS set
"""

import base64
import hashlib
import hmac
import json
import os
import resource
import sys
import time
from datetime import datetime

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2, event_source

import logging

# Logs are formatted as in Lambda, then dropped: the cost of the line stays in.
logger = Logger(service="webhook-ingest-python", logger_handler=logging.StreamHandler(open(os.devnull, "w")))
sqs = boto3.client("sqs", region_name="us-east-1")
QUEUE_URL = None
SECRET = base64.b64decode("c3luY2h1Yi1zYW1wbGUtc2VjcmV0LWtleS0zMmJ5dGU=")


@event_source(data_class=APIGatewayProxyEventV2)
def handler(event: APIGatewayProxyEventV2, context):
    headers = event.headers
    msg_id, ts, sigs = headers["webhook-id"], headers["webhook-timestamp"], headers["webhook-signature"]
    if abs(time.time() - int(ts)) > 300:
        return {"statusCode": 401}
    expected = base64.b64encode(hmac.new(SECRET, f"{msg_id}.{ts}.{event.body}".encode(), hashlib.sha256).digest()).decode()
    if not any(hmac.compare_digest(s.split(",", 1)[1], expected) for s in sigs.split() if s.startswith("v1,")):
        return {"statusCode": 401}
    body = json.loads(event.body)
    for field in ("eventId", "supplierId", "sku", "updatedAt"):
        if not isinstance(body.get(field), str) or not body[field]:
            return {"statusCode": 400, "body": json.dumps({"error": {"field": field}})}
    if not isinstance(body.get("quantity"), int) or body["quantity"] < 0:
        return {"statusCode": 400, "body": json.dumps({"error": {"field": "quantity"}})}
    datetime.fromisoformat(body["updatedAt"].replace("Z", "+00:00"))
    tenant = event.path_parameters["tenantId"]
    out = sqs.send_message(QueueUrl=QUEUE_URL, MessageBody=json.dumps({"tenantId": tenant, "payload": body}),
                           MessageGroupId=tenant, MessageAttributes={"tenantId": {"DataType": "String", "StringValue": tenant}})
    logger.info("webhook accepted", extra={"tenant": tenant, "event_id": body["eventId"]})
    return {"statusCode": 202, "body": json.dumps({"eventId": body["eventId"], "messageId": out["MessageId"]})}


def main(n):
    global QUEUE_URL
    QUEUE_URL = sqs.create_queue(QueueName=f"py-ingest-{os.getpid()}")["QueueUrl"]
    events = []
    for i in range(n + 1):
        body = json.dumps({"eventId": f"evt-{i}", "supplierId": "s", "sku": f"SKU-{i % 250}", "quantity": i, "updatedAt": "2026-06-01T10:00:00Z"})
        ts = str(int(time.time()))
        sig = base64.b64encode(hmac.new(SECRET, f"m{i}.{ts}.{body}".encode(), hashlib.sha256).digest()).decode()
        events.append({"version": "2.0", "rawPath": "/webhooks/supplier/t", "headers": {"webhook-id": f"m{i}", "webhook-timestamp": ts, "webhook-signature": f"v1,{sig}"},
                       "pathParameters": {"tenantId": "t"}, "body": body, "isBase64Encoded": False,
                       "requestContext": {"http": {"method": "POST", "path": "/webhooks/supplier/t"}}})
    handler(events[0], None)  # warm: imports and the client are built at init in Lambda too
    c0, t0 = time.process_time(), time.time()
    statuses = [handler(e, None)["statusCode"] for e in events[1:]]
    c1, t1 = time.process_time(), time.time()
    assert statuses.count(202) == n, statuses[:5]
    print(f"python+powertools ingest: {(c1 - c0) / n * 1000:.3f} CPU-s per 1,000 events ({n} events, {(t1 - t0):.1f} s wall), "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MiB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
