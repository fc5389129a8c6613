"""Creates the demo's DynamoDB table and SQS queues on a local moto server (stdlib only,
AWS JSON protocol), prints the stored batch outcomes with --show TABLE, or, with
--sqs-event QUEUE_URL, receives the queued messages and prints them as the SQS event Lambda's
event source mapping would deliver (the demo's async step)."""
import json
import sys
import urllib.request


def call(endpoint, target, payload, content_type="application/x-amz-json-1.0", service="dynamodb"):
    request = urllib.request.Request(
        endpoint + "/",
        data=json.dumps(payload).encode(),
        headers={
            "Content-Type": content_type,
            "X-Amz-Target": target,
            # moto does not verify signatures; the region comes from the credential scope.
            "Authorization": f"AWS4-HMAC-SHA256 Credential=test/20261125/us-east-1/{service}/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def main():
    endpoint = sys.argv[1]
    if len(sys.argv) > 3 and sys.argv[2] == "--show":
        items = call(endpoint, "DynamoDB_20120810.Scan", {"TableName": sys.argv[3]}).get("Items", [])
        # Job headers (requestId `#job`) carry counts, not an outcome.
        outcomes = [i for i in items if "status" in i]
        for item in sorted(outcomes, key=lambda i: (i["jobId"]["S"], i["requestId"]["S"])):
            code = item.get("error", {}).get("S", "")
            detail = json.loads(code)["code"] if code.startswith("{") else ""
            print(f"  {item['jobId']['S']}/{item['requestId']['S']}: {item['status']['S']} {detail}".rstrip())
        return
    if len(sys.argv) > 3 and sys.argv[2] == "--sqs-event":
        queue_url = sys.argv[3]
        received = call(endpoint, "AmazonSQS.ReceiveMessage", {
            "QueueUrl": queue_url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1,
            "AttributeNames": ["All"],
        }, service="sqs").get("Messages", [])
        name = queue_url.rstrip("/").rsplit("/", 1)[-1]
        records = [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": {k: str(v) for k, v in m.get("Attributes", {}).items()},
            "messageAttributes": {}, "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{name}", "awsRegion": "us-east-1",
        } for m in received]
        print(json.dumps({"Records": records}))
        return
    table = "ai-chef-demo-results"
    call(endpoint, "DynamoDB_20120810.CreateTable", {
        "TableName": table,
        "KeySchema": [{"AttributeName": "jobId", "KeyType": "HASH"}, {"AttributeName": "requestId", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "jobId", "AttributeType": "S"}, {"AttributeName": "requestId", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    })
    queue = call(endpoint, "AmazonSQS.CreateQueue", {"QueueName": "ai-chef-demo-jobs"}, service="sqs")
    print(f"RESULTS_TABLE={table}")
    print(f"JOBS_QUEUE_URL={queue['QueueUrl']}")


if __name__ == "__main__":
    main()
