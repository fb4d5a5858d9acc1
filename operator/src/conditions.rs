//! `metav1.Condition` bookkeeping (API-2): `lastTransitionTime` changes only when `status`
//! changes, and every condition carries `observedGeneration`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

/// The `status` of a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// `True`.
    True,
    /// `False`.
    False,
    /// `Unknown`: not decided yet.
    Unknown,
}

impl Status {
    /// As written in a `metav1.Condition`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::True => "True",
            Status::False => "False",
            Status::Unknown => "Unknown",
        }
    }

    /// The status of a `metav1.Condition` (`Unknown` for anything but `True`/`False`).
    pub fn parse(status: &str) -> Status {
        match status {
            "True" => Status::True,
            "False" => Status::False,
            _ => Status::Unknown,
        }
    }
}

impl From<bool> for Status {
    fn from(status: bool) -> Self {
        if status { Status::True } else { Status::False }
    }
}

/// A condition the reconciler wants, before transition bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    /// Condition type.
    pub type_: &'static str,
    /// `True`, `False` or `Unknown`.
    pub status: Status,
    /// CamelCase reason.
    pub reason: String,
    /// Human-readable message.
    pub message: String,
}

impl Desired {
    /// A condition of `type_` with `status`, `reason` and `message`.
    pub fn new(
        type_: &'static str,
        status: impl Into<Status>,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Desired {
            type_,
            status: status.into(),
            reason: reason.into(),
            message: message.into(),
        }
    }

    /// The same verdict as `condition` (status, reason and message), for type `type_`.
    pub fn kept(type_: &'static str, condition: &Condition) -> Self {
        Desired::new(
            type_,
            Status::parse(&condition.status),
            condition.reason.clone(),
            condition.message.clone(),
        )
    }
}

/// The current time, truncated to whole seconds as the API server stores it.
pub fn now() -> Time {
    let now = Timestamp::now();
    Time(Timestamp::from_second(now.as_second()).unwrap_or(now))
}

/// Build the condition list from the `desired` ones, keeping `lastTransitionTime` of each
/// `previous` condition whose status did not change. Conditions not in `desired` are dropped.
pub fn reconcile(
    previous: &[Condition],
    desired: Vec<Desired>,
    generation: Option<i64>,
    now: &Time,
) -> Vec<Condition> {
    desired
        .into_iter()
        .map(|want| {
            let status = want.status.as_str();
            let last_transition_time = previous
                .iter()
                .find(|c| c.type_ == want.type_ && c.status == status)
                .map(|c| c.last_transition_time.clone())
                .unwrap_or_else(|| now.clone());
            Condition {
                type_: want.type_.to_string(),
                status: status.to_string(),
                reason: want.reason,
                message: want.message,
                observed_generation: generation,
                last_transition_time,
            }
        })
        .collect()
}

/// The condition of `type_`, if present.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether the condition of `type_` is present with status `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == "True")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> Time {
        Time(Timestamp::from_second(second).unwrap())
    }

    #[test]
    fn transition_time_is_kept_while_status_is_unchanged() {
        let first = reconcile(
            &[],
            vec![Desired::new("Valid", true, "ValidationSucceeded", "ok")],
            Some(1),
            &at(100),
        );
        assert_eq!(first[0].last_transition_time, at(100));
        let second = reconcile(
            &first,
            vec![Desired::new(
                "Valid",
                true,
                "ValidationSucceeded",
                "still ok",
            )],
            Some(2),
            &at(200),
        );
        assert_eq!(second[0].last_transition_time, at(100));
        assert_eq!(second[0].observed_generation, Some(2));
        assert_eq!(second[0].message, "still ok");
        let third = reconcile(
            &second,
            vec![Desired::new("Valid", false, "ValidationFailed", "bad")],
            Some(3),
            &at(300),
        );
        assert_eq!(third[0].last_transition_time, at(300));
        assert_eq!(third[0].status, "False");
    }

    #[test]
    fn conditions_not_desired_are_dropped() {
        let prev = reconcile(
            &[],
            vec![
                Desired::new("A", true, "R", ""),
                Desired::new("B", true, "R", ""),
            ],
            Some(1),
            &at(1),
        );
        let next = reconcile(
            &prev,
            vec![Desired::new("B", true, "R", "")],
            Some(1),
            &at(2),
        );
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].type_, "B");
        assert!(is_true(&next, "B"));
        assert!(!is_true(&next, "A"));
    }
}
