"""The seed design of AI Chef, as a team would write it without this project: one Python
Lambda per job, boto3's Bedrock Runtime client, the Claude messages request body from the
Bedrock user guide, a keto prompt, and an in-memory cache keyed by the MD5 of the request.

It is the baseline `make bench` compares the Rust functions against (same runner, same
events, same emulator). It trusts the model: no nutrition table, no rule checks, no repair.
"""
import hashlib
import json
import os

import boto3

MODEL_IDS = {
    "sonnet": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "haiku": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
}

KETO_PROMPT = """You are a Korean chef and dietitian. Write one keto recipe (net carbs at most
5 g per serving, about 70 % of energy from fat) for {servings} servings in {language}.
Health conditions: {conditions}. Allergies (never use them): {allergies}.
Cooking level: {level}. Budget: {budget} KRW. At most {max_calories} kcal per serving.
Ingredients on hand: {on_hand}.
Answer with JSON only: {{"recipeName", "description", "cookingTime", "difficulty",
"servings", "ingredients": [{{"name", "amount", "unit"}}], "instructions", "nutritionTips",
"ketoNotes"}}."""


class BedrockClient:
    """boto3 Bedrock Runtime client; AWS_ENDPOINT_URL_BEDROCK_RUNTIME points it elsewhere."""

    def __init__(self):
        self.client = boto3.client("bedrock-runtime", region_name=os.environ.get("AWS_REGION", "us-east-1"))

    def invoke_claude(self, model_id, prompt, max_tokens=2048, temperature=0.7):
        body = {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": max_tokens,
            "temperature": temperature,
            "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}],
        }
        response = self.client.invoke_model(
            modelId=model_id,
            body=json.dumps(body),
            contentType="application/json",
            accept="application/json",
        )
        payload = json.loads(response["body"].read())
        text = "".join(block.get("text", "") for block in payload.get("content", []))
        return text, payload.get("usage", {})


bedrock = BedrockClient()
cache = {}


def answer(status, body):
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body, ensure_ascii=False)}


def extract_json(text):
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("no JSON object in the model's answer")
    return json.loads(text[start : end + 1])


def handler(event, context):
    if event.get("source") == "aws.events":
        return {"warmed": True, "function": context.function_name}
    raw = event.get("body") or "{}"
    key = hashlib.md5(raw.encode()).hexdigest()
    if key in cache:
        return answer(200, cache[key])
    try:
        request = json.loads(raw)
        profile = request.get("profile", {})
        prompt = KETO_PROMPT.format(
            servings=request.get("servings", 2),
            language=request.get("language", "ko"),
            conditions=", ".join(profile.get("healthConditions", [])) or "none",
            allergies=", ".join(profile.get("allergies", [])) or "none",
            level=profile.get("cookingLevel", "beginner"),
            budget=profile.get("budget", "any"),
            max_calories=profile.get("maxCalories", "any"),
            on_hand=", ".join(request.get("ingredientsOnHand", [])) or "none",
        )
        model_id = MODEL_IDS.get(request.get("model", "sonnet"), MODEL_IDS["sonnet"])
        text, usage = bedrock.invoke_claude(model_id, prompt)
        recipe = extract_json(text)
    except Exception as error:  # the seed design answers every failure with a 500
        return answer(500, {"error": str(error)})
    body = {"recipe": recipe, "meta": {"modelId": model_id, "inputTokens": usage.get("input_tokens", 0), "outputTokens": usage.get("output_tokens", 0)}}
    cache[key] = body
    return answer(200, body)
