//! One fresh namespace per scenario: created with kanon's labels, deleted at the end,
//! and watched until it is gone (its content deleted, its finalizers done); what keeps
//! one from going is read from the namespace itself. Namespaces kanon did not create
//! are never deleted.

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use tokio::time::Instant;

use crate::ops::{OpEnv, OpError};

/// Label on every namespace kanon creates.
pub const CREATED_BY_LABEL: &str = "kanon.dev/created-by";

/// A DNS-1123 label for `scenario`: lower-case, `-` for anything else, at most 63
/// characters with a random suffix.
pub fn namespace_name(scenario: &str, suffix: &str) -> String {
    let mut slug: String = scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while slug.contains("--") {
        slug = slug.replace("--", "-");
    }
    let slug = slug.trim_matches('-');
    let room = 63 - "kanon-".len() - 1 - suffix.len();
    let slug: String = slug.chars().take(room).collect();
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        format!("kanon-{suffix}")
    } else {
        format!("kanon-{slug}-{suffix}")
    }
}

/// A short random suffix (lower-case letters and digits).
pub fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    let mut n = h.finish();
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..5)
        .map(|_| {
            let c = alphabet[(n % 36) as usize] as char;
            n /= 36;
            c
        })
        .collect()
}

/// Creates namespace `name` labelled as kanon's.
pub async fn create(env: &OpEnv, name: &str, run_id: &str) -> Result<(), OpError> {
    create_from(env, name, run_id, None).await
}

/// Creates namespace `name` from `template` (a rendered `namespaceTemplate`: its labels,
/// annotations and spec are kept; name and kanon's labels are set over it).
pub async fn create_from(
    env: &OpEnv,
    name: &str,
    run_id: &str,
    template: Option<serde_json::Value>,
) -> Result<(), OpError> {
    let mut ns = template.unwrap_or_else(|| json!({}));
    if !ns.is_object() {
        ns = json!({});
    }
    ns["apiVersion"] = json!("v1");
    ns["kind"] = json!("Namespace");
    if !ns["metadata"].is_object() {
        ns["metadata"] = json!({});
    }
    ns["metadata"]["name"] = json!(name);
    if !ns["metadata"]["labels"].is_object() {
        ns["metadata"]["labels"] = json!({});
    }
    ns["metadata"]["labels"][CREATED_BY_LABEL] = json!("kanon");
    ns["metadata"]["labels"]["kanon.dev/run"] = json!(run_id);
    crate::ops::apply::create(env, ns, Default::default()).await?;
    // The namespace is removed by the scenario's last cleanup step, after its content.
    env.forget_created(&crate::ops::ObjectRef {
        api_version: "v1".into(),
        kind: "Namespace".into(),
        namespace: None,
        name: name.to_string(),
    });
    Ok(())
}

/// Deletes namespace `name` and waits until it is gone (its finalizers done).
pub async fn delete_namespace(env: &OpEnv, name: &str, timeout: Duration) -> Result<(), OpError> {
    let uid = request_deletion(&env.client, name, None).await?;
    wait_gone(&env.client, name, uid.as_deref(), timeout)
        .await
        .map_err(|left| OpError::Timeout {
            what: format!("deletion of namespace {name}"),
            timeout,
            last: Some(left.detail()),
        })
}

/// Asks for namespace `name` to be deleted without waiting for it to go.
pub async fn request_namespace_deletion(env: &OpEnv, name: &str) -> Result<(), OpError> {
    request_deletion(&env.client, name, None).await.map(|_| ())
}

/// Asks for namespace `name` to be deleted (with `propagation`, the API server's default
/// when none); returns the uid of the namespace being deleted, none when it was gone
/// already.
pub async fn request_deletion(
    client: &kube::Client,
    name: &str,
    propagation: Option<kube::api::PropagationPolicy>,
) -> Result<Option<String>, OpError> {
    let api: kube::Api<Namespace> = kube::Api::all(client.clone());
    let params = kube::api::DeleteParams {
        propagation_policy: propagation,
        ..Default::default()
    };
    match api.delete(name, &params).await {
        // A Status answer instead of the namespace: it is gone already.
        Ok(either) => Ok(either.left().and_then(|ns| ns.metadata.uid)),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(None),
        Err(source) => Err(OpError::Api {
            action: "delete",
            object: format!("v1/Namespace {name}"),
            source,
        }),
    }
}

/// A namespace that did not go away in time: what it still holds and why, from the
/// namespace itself (its finalizers and the namespace controller's conditions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceLeft {
    /// The namespace.
    pub name: String,
    /// How long it was waited for.
    pub waited: Duration,
    /// Its phase (`Terminating`), when read.
    pub phase: Option<String>,
    /// Its finalizers (`spec.finalizers`, then `metadata.finalizers`).
    pub finalizers: Vec<String>,
    /// The namespace controller's conditions that are true, as `Type: message`: which
    /// content is left (`NamespaceContentRemaining`) and which finalizers hold it
    /// (`NamespaceFinalizersRemaining`).
    pub conditions: Vec<String>,
    /// Why it could not be read, when it could not.
    pub error: Option<String>,
}

impl NamespaceLeft {
    fn of(ns: &Namespace, waited: Duration) -> Self {
        let mut finalizers: Vec<String> = ns
            .spec
            .as_ref()
            .and_then(|s| s.finalizers.clone())
            .unwrap_or_default();
        finalizers.extend(ns.metadata.finalizers.clone().unwrap_or_default());
        let status = ns.status.as_ref();
        let conditions = status
            .and_then(|s| s.conditions.as_ref())
            .map(|cs| {
                cs.iter()
                    .filter(|c| c.status == "True")
                    .map(|c| match c.message.as_deref() {
                        Some(m) if !m.is_empty() => format!("{}: {m}", c.type_),
                        _ => c.type_.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            name: ns.metadata.name.clone().unwrap_or_default(),
            waited,
            phase: status.and_then(|s| s.phase.clone()),
            finalizers,
            conditions,
            error: None,
        }
    }

    /// What is left and why, without the namespace's name: `phase Terminating;
    /// finalizers: kubernetes; NamespaceFinalizersRemaining: ...`.
    pub fn detail(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = &self.phase {
            parts.push(format!("phase {p}"));
        }
        if !self.finalizers.is_empty() {
            parts.push(format!("finalizers: {}", self.finalizers.join(", ")));
        }
        parts.extend(self.conditions.iter().cloned());
        if let Some(e) = &self.error {
            parts.push(format!("cannot read it: {e}"));
        }
        if parts.is_empty() {
            "still present".to_string()
        } else {
            parts.join("; ")
        }
    }
}

impl std::fmt::Display for NamespaceLeft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Whole seconds: the deadline, not the scheduler's jitter around it.
        let waited = Duration::from_secs(self.waited.as_secs_f64().round() as u64);
        write!(
            f,
            "namespace {} still exists {} after its deletion ({})",
            self.name,
            crate::scenario::format_duration(waited),
            self.detail()
        )
    }
}

/// Whether the namespace of `uid` is gone, from what a watch of its name has said so
/// far. Fed the watcher's events in order; a re-list that does not list it, a deletion
/// event, or a namespace of the same name with another uid (made again since) mean gone.
#[derive(Debug, Default)]
struct Presence {
    /// During a re-list: whether the namespace was listed.
    listed: Option<bool>,
    /// The last state seen.
    last: Option<Namespace>,
}

impl Presence {
    /// Applies one event; true once the namespace is gone.
    fn gone_after(&mut self, uid: &str, event: watcher::Event<Namespace>) -> bool {
        let ours = |ns: &Namespace| ns.metadata.uid.as_deref() == Some(uid);
        match event {
            watcher::Event::Init => {
                self.listed = Some(false);
                false
            }
            watcher::Event::InitApply(ns) | watcher::Event::Apply(ns) => {
                if !ours(&ns) {
                    return true;
                }
                if let Some(listed) = self.listed.as_mut() {
                    *listed = true;
                }
                self.last = Some(ns);
                false
            }
            watcher::Event::InitDone => self.listed.take() == Some(false),
            watcher::Event::Delete(ns) => ours(&ns),
        }
    }
}

/// Whether the namespace of `uid` is gone, read directly from the API server (not from
/// a watch, which may lag); its state when it is not.
async fn read_directly(
    api: &kube::Api<Namespace>,
    uid: &str,
    name: &str,
) -> Result<Option<Namespace>, kube::Error> {
    Ok(api
        .get_opt(name)
        .await?
        .filter(|ns| ns.metadata.uid.as_deref() == Some(uid)))
}

/// Waits until the namespace `name` of `uid` (none: already gone) is gone, at most
/// `timeout`. Watch-driven: a watch of that one name (its own, not a shared cache),
/// which re-lists when it breaks; a direct read settles every doubt, when the watch
/// fails and at the deadline, so a deletion that finished is never reported as hanging
/// because a watch lagged. When it is still there, says what it holds and why.
pub async fn wait_gone(
    client: &kube::Client,
    name: &str,
    uid: Option<&str>,
    timeout: Duration,
) -> Result<(), NamespaceLeft> {
    let Some(uid) = uid else { return Ok(()) };
    let started = Instant::now();
    let deadline = started + timeout;
    let api: kube::Api<Namespace> = kube::Api::all(client.clone());
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut events = std::pin::pin!(watcher(api.clone(), config).default_backoff());
    let mut presence = Presence::default();
    loop {
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(e)) => {
                    if presence.gone_after(uid, e) {
                        return Ok(());
                    }
                }
                // The watch fails (it retries with backoff): ask the API server itself.
                Some(Err(_)) => {
                    if let Ok(None) = read_directly(&api, uid, name).await {
                        return Ok(());
                    }
                }
                None => break,
            },
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    match read_directly(&api, uid, name).await {
        Ok(None) => Ok(()),
        Ok(Some(ns)) => Err(NamespaceLeft::of(&ns, started.elapsed())),
        Err(e) => {
            let mut left = presence
                .last
                .as_ref()
                .map(|ns| NamespaceLeft::of(ns, started.elapsed()))
                .unwrap_or_else(|| NamespaceLeft {
                    name: name.to_string(),
                    waited: started.elapsed(),
                    phase: None,
                    finalizers: Vec::new(),
                    conditions: Vec::new(),
                    error: None,
                });
            left.error = Some(e.to_string());
            Err(left)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(
        "Config deletion blocked",
        "abc12",
        "kanon-config-deletion-blocked-abc12"
    )]
    #[case("cel/CEL-1_mutual", "x", "kanon-cel-cel-1-mutual-x")]
    #[case("???", "z9", "kanon-z9")]
    fn names_are_dns_labels(#[case] scenario: &str, #[case] suffix: &str, #[case] want: &str) {
        assert_eq!(namespace_name(scenario, suffix), want);
    }

    fn ns(uid: &str) -> Namespace {
        let mut n = Namespace::default();
        n.metadata.name = Some("kanon-x".into());
        n.metadata.uid = Some(uid.into());
        n
    }

    #[test]
    fn presence_follows_the_watch_of_one_name() {
        use watcher::Event;
        // Listed, then deleted.
        let mut p = Presence::default();
        assert!(!p.gone_after("u1", Event::Init));
        assert!(!p.gone_after("u1", Event::InitApply(ns("u1"))));
        assert!(!p.gone_after("u1", Event::InitDone));
        assert!(!p.gone_after("u1", Event::Apply(ns("u1"))));
        assert!(p.gone_after("u1", Event::Delete(ns("u1"))));
        // A (re-)list that does not list it: gone, even without a deletion event.
        let mut p = Presence::default();
        assert!(!p.gone_after("u1", Event::Init));
        assert!(p.gone_after("u1", Event::InitDone));
        // Made again under the same name: the one we deleted is gone.
        let mut p = Presence::default();
        assert!(p.gone_after("u1", Event::Apply(ns("u2"))));
        // Another namespace's deletion event is not ours.
        let mut p = Presence::default();
        assert!(!p.gone_after("u1", Event::Delete(ns("u2"))));
    }

    #[test]
    fn a_namespace_left_says_what_holds_it() {
        use k8s_openapi::api::core::v1::{NamespaceCondition, NamespaceSpec, NamespaceStatus};
        let mut n = ns("u1");
        n.spec = Some(NamespaceSpec {
            finalizers: Some(vec!["kubernetes".into()]),
        });
        let cond = |type_: &str, status: &str, message: &str| NamespaceCondition {
            type_: type_.into(),
            status: status.into(),
            message: Some(message.into()),
            ..Default::default()
        };
        n.status = Some(NamespaceStatus {
            phase: Some("Terminating".into()),
            conditions: Some(vec![
                cond(
                    "NamespaceDeletionDiscoveryFailure",
                    "False",
                    "All resources successfully discovered",
                ),
                cond(
                    "NamespaceContentRemaining",
                    "True",
                    "Some resources are remaining: configmaps. has 1 resource instances",
                ),
                cond(
                    "NamespaceFinalizersRemaining",
                    "True",
                    "Some content in the namespace has finalizers remaining: kanon.dev/stuck in 1 resource instances",
                ),
            ]),
        });
        let left = NamespaceLeft::of(&n, Duration::from_secs(30));
        assert_eq!(
            left.to_string(),
            "namespace kanon-x still exists 30s after its deletion (phase Terminating; \
             finalizers: kubernetes; NamespaceContentRemaining: Some resources are remaining: \
             configmaps. has 1 resource instances; NamespaceFinalizersRemaining: Some content \
             in the namespace has finalizers remaining: kanon.dev/stuck in 1 resource instances)"
        );
    }

    #[test]
    fn long_names_are_cut_to_63() {
        let n = namespace_name(&"a".repeat(200), "abcde");
        assert_eq!(n.len(), 63);
        assert!(n.ends_with("-abcde"));
        let s = random_suffix();
        assert_eq!(s.len(), 5);
        assert!(
            s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }
}
