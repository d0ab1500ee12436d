//! The demo's supplier: a stream of signed webhooks, several versions per
//! SKU, some re-sent, some broken, some with a bad signature; sent through
//! the real ingest handler, and the answers tallied.

use crate::api_gateway::{apigw_event, invoke_ingest, signed_headers};
use crate::local;
use futures::StreamExt as _;
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;
use synchub_core::domain::time::{canonical_time, now_millis};
use synchub_core::domain::webhook_signature::WebhookSecret;
use synchub_lambda::Ingest;

/// One webhook the supplier will send.
pub(super) struct Planned {
    pub sku: String,
    pub event_id: String,
    /// The body's `updatedAt` (empty for broken bodies).
    pub updated_at: String,
    pub body: String,
    /// Signed with a key the tenant does not have.
    pub tamper: bool,
}

impl Planned {
    /// Versions compare as the ordering rule does: (updatedAt, eventId).
    fn version(&self) -> (&str, &str) {
        (&self.updated_at, &self.event_id)
    }
}

/// A supplier's stream: several versions per SKU, some re-sent, some broken, shuffled.
pub(super) fn plan_webhooks(skus: usize, rng: &mut impl Rng) -> Vec<Planned> {
    let base = now_millis() - 3_600_000;
    let mut planned = Vec::new();
    for s in 0..skus {
        plan_versions(s, base, &mut planned, rng);
    }
    plan_broken(&mut planned);
    for i in 0..6 {
        let victim = &planned[i * 7];
        planned.push(Planned {
            sku: victim.sku.clone(),
            event_id: victim.event_id.clone(),
            updated_at: victim.updated_at.clone(),
            body: victim.body.clone(),
            tamper: true,
        });
    }
    planned.shuffle(rng);
    planned
}

/// Four to eight versions of one SKU a minute apart from `base` (epoch
/// millis), about one in eight re-sent.
fn plan_versions(s: usize, base: i64, planned: &mut Vec<Planned>, rng: &mut impl Rng) {
    let sku = format!("SKU-{s:03}");
    for v in 0..rng.random_range(4..9) {
        let event_id = format!("evt-{s:03}-{v}");
        let millis = base + v * 60_000 + rng.random_range(0..1000);
        let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
            .expect("an hour ago is a valid time");
        let updated_at = canonical_time(at);
        let body = json!({"eventId": event_id, "supplierId": "acme-supply", "sku": sku, "quantity": rng.random_range(0..500),
                          "price": (rng.random_range(100..10_000) as f64) / 100.0, "name": format!("Item {s}"),
                          "updatedAt": updated_at})
        .to_string();
        let copies = if rng.random_bool(0.12) { 2 } else { 1 };
        for _ in 0..copies {
            planned.push(Planned {
                sku: sku.clone(),
                event_id: event_id.clone(),
                updated_at: updated_at.clone(),
                body: body.clone(),
                tamper: false,
            });
        }
    }
}

/// Twelve bodies ingest must refuse, each naming its field.
fn plan_broken(planned: &mut Vec<Planned>) {
    let broken = [
        json!({"eventId": "evt-bad-1", "supplierId": "acme-supply", "sku": "SKU-001", "quantity": -4, "updatedAt": "2026-06-01T10:00:00Z"}).to_string(),
        json!({"eventId": "evt-bad-2", "supplierId": "acme-supply", "sku": "not a sku!", "quantity": 3, "updatedAt": "2026-06-01T10:00:00Z"}).to_string(),
        json!({"eventId": "evt-bad-3", "supplierId": "acme-supply", "sku": "SKU-002", "quantity": 3, "updatedAt": "last tuesday"}).to_string(),
        "{\"eventId\": \"evt-bad-4\", \"sku\": ".to_owned(),
    ];
    for (i, body) in broken.iter().cycle().take(12).enumerate() {
        planned.push(Planned {
            sku: String::new(),
            event_id: format!("bad-{i}"),
            updated_at: String::new(),
            body: body.clone(),
            tamper: false,
        });
    }
}

/// Ingest's answers: (index into the plan, HTTP status, JSON body), and how long they took.
pub(super) struct Sent {
    pub answers: Vec<(usize, u16, Value)>,
    pub seconds: f64,
}

/// Sends the plan through the real ingest handler, sixteen at a time.
pub(super) async fn send(
    ingest: &Ingest,
    tenant: &str,
    secret: &WebhookSecret,
    planned: &[Planned],
) -> Sent {
    println!("webhooks    sending {} signed supplier webhooks (shuffled; re-sends, malformed bodies and bad signatures mixed in)", planned.len());
    let started = Instant::now();
    let answers = futures::stream::iter(planned.iter().enumerate())
        .map(|(i, p)| {
            let signing = if p.tamper {
                WebhookSecret::parse(&local::new_signing_secret()).expect("a fresh secret parses")
            } else {
                secret.clone()
            };
            let event = apigw_event(
                tenant,
                &signed_headers(&signing, &format!("msg_{i}"), &p.body),
                &p.body,
            );
            async move {
                let (status, body) = invoke_ingest(ingest, &event).await;
                (i, status, body)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    Sent {
        answers,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// The answers by status (with one example error each), and the newest
/// accepted event of each SKU: what the store must end up holding.
pub(super) struct Tally<'a> {
    pub by_status: BTreeMap<u16, (usize, Option<String>)>,
    pub newest: HashMap<&'a str, &'a str>,
    answered: usize,
    seconds: f64,
}

impl<'a> Tally<'a> {
    pub(super) fn of(planned: &'a [Planned], sent: &Sent) -> Self {
        let mut by_status: BTreeMap<u16, (usize, Option<String>)> = BTreeMap::new();
        let mut newest: HashMap<&str, &Planned> = HashMap::new();
        for (i, status, body) in &sent.answers {
            let entry = by_status.entry(*status).or_default();
            entry.0 += 1;
            if entry.1.is_none() && *status != 202 {
                entry.1 = body["error"]["message"].as_str().map(str::to_owned);
            }
            if *status == 202 {
                let p = &planned[*i];
                let current = newest.entry(p.sku.as_str()).or_insert(p);
                if p.version() > current.version() {
                    *current = p;
                }
            }
        }
        Self {
            by_status,
            newest: newest
                .into_iter()
                .map(|(sku, p)| (sku, p.event_id.as_str()))
                .collect(),
            answered: sent.answers.len(),
            seconds: sent.seconds,
        }
    }

    /// Webhooks ingest accepted (and so enqueued).
    pub(super) fn accepted(&self) -> usize {
        self.by_status.get(&202).map_or(0, |c| c.0)
    }

    pub(super) fn print(&self) {
        println!(
            "            {} requests answered in {:.2} s",
            self.answered, self.seconds
        );
        for (status, (count, example)) in &self.by_status {
            let label = match status {
                202 => "accepted",
                400 => "invalid",
                401 => "not authenticated",
                413 => "too large",
                _ => "other",
            };
            println!(
                "  HTTP {status} {label:<18} {count:>4}{}",
                example
                    .as_ref()
                    .map(|e| format!("   e.g. \"{e}\""))
                    .unwrap_or_default()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_mixes_versions_resends_broken_bodies_and_bad_signatures() {
        let planned = plan_webhooks(10, &mut rand::rng());
        assert!(planned.len() >= 10 * 4 + 12 + 6);
        assert_eq!(planned.iter().filter(|p| p.tamper).count(), 6);
        assert_eq!(planned.iter().filter(|p| p.sku.is_empty()).count(), 12);
        let skus: std::collections::HashSet<&str> = planned
            .iter()
            .filter(|p| !p.sku.is_empty())
            .map(|p| p.sku.as_str())
            .collect();
        assert_eq!(skus.len(), 10);
    }

    #[test]
    fn the_newest_accepted_version_of_each_sku_is_expected() {
        let plan = |event_id: &str, at: &str| Planned {
            sku: "SKU-1".into(),
            event_id: event_id.into(),
            updated_at: at.into(),
            body: String::new(),
            tamper: false,
        };
        let planned = [
            plan("evt-b", "2026-06-01T10:00:00.000Z"),
            plan("evt-c", "2026-06-01T11:00:00.000Z"),
            plan("evt-a", "2026-06-01T11:00:00.000Z"),
            plan("evt-z", "2026-06-01T12:00:00.000Z"),
        ];
        let sent = Sent {
            answers: vec![
                (0, 202, Value::Null),
                (1, 202, Value::Null),
                (2, 202, Value::Null),
                (3, 401, json!({"error": {"message": "bad signature"}})),
            ],
            seconds: 0.0,
        };
        let tally = Tally::of(&planned, &sent);
        assert_eq!(tally.newest["SKU-1"], "evt-c");
        assert_eq!(tally.accepted(), 3);
        assert_eq!(tally.by_status[&401], (1, Some("bad signature".into())));
    }
}
