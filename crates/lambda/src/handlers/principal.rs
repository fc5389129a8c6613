//! The caller of an HTTP API (payload 2.0) or function URL request, from the authorizer
//! context API Gateway and Lambda fill in after authenticating it: the IAM user ARN
//! (`AWS_IAM` auth) or the JWT `sub` claim (JWT authorizer). A request with neither (no
//! authorizer: local runs) is the anonymous principal. The one place both the batch API and
//! async recipes take the owner from.

use ai_chef::batch::Principal;
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;

pub fn principal_of(request: &ApiGatewayV2httpRequest) -> Principal {
    let Some(authorizer) = request.request_context.authorizer.as_ref() else {
        return Principal::anonymous();
    };
    let user_arn = authorizer
        .iam
        .as_ref()
        .and_then(|iam| iam.user_arn.as_deref())
        .filter(|arn| !arn.is_empty());
    if let Some(arn) = user_arn {
        return Principal::iam(arn);
    }
    let subject = authorizer
        .jwt
        .as_ref()
        .and_then(|jwt| jwt.claims.get("sub"))
        .filter(|sub| !sub.is_empty());
    match subject {
        Some(sub) => Principal::jwt(sub),
        None => Principal::anonymous(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn request(authorizer: Option<Value>) -> ApiGatewayV2httpRequest {
        let mut context = json!({
            "accountId": "123456789012", "apiId": "api", "domainName": "x", "domainPrefix": "x",
            "http": {"method": "GET", "path": "/recipes/x", "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "t"},
            "requestId": "r", "routeKey": "GET /recipes/{requestId}", "stage": "$default",
            "time": "t", "timeEpoch": 0
        });
        if let Some(authorizer) = authorizer {
            context["authorizer"] = authorizer;
        }
        serde_json::from_value(json!({
            "version": "2.0", "routeKey": "GET /recipes/{requestId}", "rawPath": "/recipes/x",
            "rawQueryString": "", "headers": {}, "isBase64Encoded": false,
            "requestContext": context
        }))
        .unwrap()
    }

    #[test]
    fn iam_callers_are_their_user_arn() {
        let iam = json!({"iam": {"accessKey": "A", "accountId": "123456789012", "callerId": "C",
            "cognitoIdentity": null, "principalOrgId": null,
            "userArn": "arn:aws:iam::123456789012:user/chef-client", "userId": "U"}});
        assert_eq!(
            principal_of(&request(Some(iam))),
            Principal::iam("arn:aws:iam::123456789012:user/chef-client")
        );
    }

    #[test]
    fn jwt_callers_are_their_subject() {
        let jwt = json!({"jwt": {"claims": {"sub": "user-42", "iss": "https://issuer"},
            "scopes": null}});
        assert_eq!(principal_of(&request(Some(jwt))), Principal::jwt("user-42"));
    }

    #[test]
    fn no_authorizer_or_no_identity_is_anonymous() {
        assert_eq!(principal_of(&request(None)), Principal::anonymous());
        let empty = json!({"jwt": {"claims": {}, "scopes": null}});
        assert_eq!(principal_of(&request(Some(empty))), Principal::anonymous());
    }
}
