//! Who submitted a job or an async recipe, and who may read it back. The principal is taken
//! from the request's authorizer context at the edge (`handlers::principal`) and stored on the
//! job's header item; a reader whose principal differs is answered `404 not_found`, exactly as
//! for an id that does not exist, so ids of other callers cannot even be confirmed.

use std::fmt;

/// A caller's identity as stored: `iam:<user ARN>`, `jwt:<subject>` or `anonymous` (no
/// authorizer: local runs). The prefixes keep an IAM ARN and a JWT subject that happen to be
/// the same text apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal(String);

impl Principal {
    pub const ANONYMOUS: &'static str = "anonymous";

    pub fn anonymous() -> Principal {
        Principal(Principal::ANONYMOUS.to_owned())
    }

    /// An IAM caller (`requestContext.authorizer.iam.userArn`).
    pub fn iam(user_arn: &str) -> Principal {
        Principal(format!("iam:{user_arn}"))
    }

    /// A JWT caller (`requestContext.authorizer.jwt.claims.sub`).
    pub fn jwt(subject: &str) -> Principal {
        Principal(format!("jwt:{subject}"))
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this caller may read a job whose header recorded `recorded`. A job without a
    /// recorded principal was put on the queue directly by a producer holding the queue's
    /// send right, not through the API, so it has no caller to keep others from.
    pub fn may_read(&self, recorded: Option<&str>) -> bool {
        recorded.is_none_or(|owner| owner == self.0)
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_recorded_principal_may_read() {
        let alice = Principal::iam("arn:aws:iam::123456789012:user/alice");
        let bob = Principal::iam("arn:aws:iam::123456789012:user/bob");
        assert!(alice.may_read(Some(alice.as_str())));
        assert!(!bob.may_read(Some(alice.as_str())));
        assert!(!Principal::anonymous().may_read(Some(alice.as_str())));
        assert!(!alice.may_read(Some(Principal::ANONYMOUS)));
        assert!(alice.may_read(None), "jobs enqueued directly have no owner");
    }

    #[test]
    fn an_iam_arn_and_a_jwt_subject_never_collide() {
        let text = "arn:aws:iam::123456789012:user/alice";
        assert_ne!(Principal::iam(text), Principal::jwt(text));
        assert_eq!(Principal::jwt("u-1").as_str(), "jwt:u-1");
    }
}
