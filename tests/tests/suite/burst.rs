//! One tenant's burst, simulated (DynamoDB Local does not throttle and moto
//! has no fair queues, so neither can show it): the partition keys a large
//! tenant's full pull writes, against DynamoDB's published per-partition
//! limit of 1,000 write units a second, and the queue lag of quiet tenants
//! while one tenant sends 100× what each of them sends, with and without
//! SQS fair queues (message group = tenant, as ingest and daily-sync send).
//!
//! Run with `cargo nextest run -p synchub-tests --test suite burst:: --no-capture`
//! to see the tables BENCHMARKS.md quotes. The worker's figures (batch of 25,
//! 20 concurrent batches, CPU per event at 256 MB) are the template's and
//! the spine benchmark's; see `cost/inputs.json`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use synchub_core::domain::audit::AuditRow;
use synchub_core::domain::layout::ItemShards;
use synchub_core::domain::{EntityKey, EntityKind, TenantId};

/// A slot gathering a batch: since when, and each message's (tenant, sent at).
type Collecting = (f64, Vec<(usize, f64)>);

/// DynamoDB's per-partition write limit (write units a second).
const PARTITION_WCU: f64 = 1000.0;
/// The worker's event source: batches of 25, at most 20 at once.
const BATCH: usize = 25;
const CONCURRENCY: usize = 20;
/// A batch's duration when nothing throttles: 0.38 ms of CPU per event at
/// 256 MB (a seventh of a vCPU) plus the batch's concurrent writes, its
/// audit BatchWriteItem and counters, ~10 ms each.
fn batch_seconds(events: usize) -> f64 {
    events as f64 * 0.38e-3 / (256.0 / 1769.0) + 0.030
}

/// The deliveries journal's write units per batch of 25 (one item listing
/// the batch's rows of one tenant hour: at most 2 WRU, the adapter's test).
const JOURNAL_WRU_PER_BATCH: f64 = 2.0;

/// The partition keys one event of an entity writes (one write unit each),
/// in the layout of the adapters: the items table's partition
/// ([`ItemShards::partition`]: `pk = tenant` with one shard,
/// `tenant#shard` with more) and the audit row's `pk = tenant#kind#id`.
/// The batch's journal item (`#deliveries#tenant#hour`) is added per batch.
fn keys_of(key: &EntityKey, shards: ItemShards) -> [String; 2] {
    [
        format!(
            "items:{}",
            shards.partition(&key.tenant, &key.item_sort_key())
        ),
        format!("audit:{}", key.audit_partition()),
    ]
}

/// Write units a second each partition key is asked for while the worker
/// drains a backlog of one tenant at full speed.
fn demand(tenant: &str, objects: usize, shards: u16) -> BTreeMap<String, f64> {
    let shards = ItemShards::new(shards).unwrap();
    let tenant = TenantId::parse(tenant).unwrap();
    let per_second = (CONCURRENCY * BATCH) as f64 / batch_seconds(BATCH);
    let mut writes: BTreeMap<String, f64> = BTreeMap::new();
    for i in 0..objects {
        let key = EntityKey {
            tenant: tenant.clone(),
            kind: EntityKind::Item,
            id: format!("ITEM{i:07}"),
        };
        for k in keys_of(&key, shards) {
            *writes.entry(k).or_default() += 1.0;
        }
    }
    let journal = format!(
        "audit:#deliveries#{}",
        AuditRow::tenant_hour_key(tenant.as_str(), "2026-12-02T02:10:00.000Z")
    );
    writes.insert(
        journal,
        JOURNAL_WRU_PER_BATCH / BATCH as f64 * objects as f64,
    );
    // Each key's share of the events, at the worker's event rate.
    writes
        .into_iter()
        .map(|(k, n)| (k, n / objects as f64 * per_second))
        .collect()
}

#[test]
fn a_large_tenants_full_pull_asks_its_items_key_for_five_times_a_partitions_writes() {
    let rate = (CONCURRENCY * BATCH) as f64 / batch_seconds(BATCH);
    let demand = demand("big-shop", 20_000, 1);
    let hottest: Vec<(&String, &f64)> = {
        let mut v: Vec<_> = demand.iter().collect();
        v.sort_by(|a, b| b.1.total_cmp(a.1));
        v.into_iter().take(3).collect()
    };
    println!(
        "worker draining one tenant: {rate:.0} events/s (20 batches of 25 at once, {:.0} ms each)",
        batch_seconds(BATCH) * 1e3
    );
    println!("| partition key | WCU/s asked | limit | share of the limit |\n|---|---|---|---|");
    for (k, wcu) in &hottest {
        println!(
            "| `{k}` | {wcu:.0} | {PARTITION_WCU:.0} | {:.1}× |",
            *wcu / PARTITION_WCU
        );
    }
    // The items key takes every event of the tenant.
    assert_eq!(hottest[0].0, "items:big-shop");
    assert!(demand["items:big-shop"] > 4.0 * PARTITION_WCU, "{demand:?}");
    // The journal takes a batch's rows in one item: under the limit.
    let journal = demand["audit:#deliveries#big-shop#2026-12-02T02"];
    assert!(journal < 0.5 * PARTITION_WCU, "{journal}");
    // An audit row's own partition is the entity's: cold.
    assert!(demand["audit:big-shop#item#ITEM0000001"] < 1.0);
}

#[test]
fn sharding_the_tenants_keys_ten_ways_keeps_every_partition_under_its_limit() {
    let sharded = demand("big-shop", 20_000, 10);
    let hottest = sharded.values().copied().fold(0.0, f64::max);
    println!("10 shards: hottest key asked {hottest:.0} WCU/s of {PARTITION_WCU:.0}");
    assert!(hottest < 0.7 * PARTITION_WCU, "{hottest}");
    // Every shard is used, and about evenly.
    let items: Vec<f64> = (0..10)
        .map(|s| sharded[&format!("items:big-shop#{s}")])
        .collect();
    let (lo, hi) = items
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    assert!(hi / lo < 1.2, "{items:?}");
}

/// A small deterministic generator, so the figures reproduce exactly.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn unit(&mut self) -> f64 {
        (self.next() % 1_000_000) as f64 / 1_000_000.0
    }
}

/// One item write of a batch: when it may next be tried, which try it is,
/// which key shard it goes to, and its record's receive count.
struct Write {
    at: f64,
    attempt: u32,
    shard: usize,
    receives: u32,
}

struct Batch {
    writes: Vec<Write>,
    failed: Vec<u32>,
    /// When its last write came back.
    last_write: f64,
}

/// How the functions' SDK clients retry a throttled call
/// (`synchub_lambda::aws_config`): 5 attempts, each wait random up to
/// 50 ms × 2^(attempt−1), at most 1 s.
const ATTEMPTS: u32 = 5;
fn backoff(attempt: u32, unit: f64) -> f64 {
    unit * (0.050 * f64::from(1u32 << (attempt - 1))).min(1.0)
}
/// An item write's round trip, and what a batch does after its writes (its
/// audit BatchWriteItem and counters).
const WRITE_SECONDS: f64 = 0.010;
const AFTER_WRITES_SECONDS: f64 = 0.020;

/// What draining a tenant's backlog did.
#[derive(Debug)]
struct Drain {
    seconds: f64,
    throttled_attempts: u64,
    handed_back: u64,
    dead_letters: u64,
    peak_writes_per_second: u64,
}

/// The worker draining `objects` queued records of one tenant at full
/// concurrency, its item writes against the tenant's partition keys
/// (`shards` of them), each a token bucket of 1,000 units a second with a
/// second's worth banked. A throttled write is retried as the functions'
/// SDK clients do ([`backoff`]); a record whose write still fails is
/// handed back to SQS, visible again
/// after the queue's 180 s visibility timeout, and dead-lettered on its
/// 6th receive (maxReceiveCount 5). 2 ms steps.
fn throttled_drain(objects: usize, shards: usize, seed: u64) -> Drain {
    let mut rng = Lcg(seed);
    let dt = 0.002;
    let mut tokens = vec![PARTITION_WCU; shards];
    let mut queue: VecDeque<u32> = std::iter::repeat_n(0, objects).collect();
    let mut invisible: Vec<(f64, u32)> = Vec::new();
    let mut slots: Vec<Option<Batch>> = (0..CONCURRENCY).map(|_| None).collect();
    let (mut done, mut throttled, mut handed_back, mut dead) = (0usize, 0u64, 0u64, 0u64);
    let mut per_second: BTreeMap<u64, u64> = BTreeMap::new();
    let mut step: u64 = 0;
    while done + (dead as usize) < objects && step < 1_800_000 {
        let t = step as f64 * dt;
        for tok in tokens.iter_mut() {
            *tok = (*tok + PARTITION_WCU * dt).min(PARTITION_WCU);
        }
        invisible.retain(|&(at, receives)| {
            let visible = at <= t;
            if visible {
                queue.push_back(receives);
            }
            !visible
        });
        for slot in slots.iter_mut() {
            if slot.is_none() && !queue.is_empty() {
                let n = queue.len().min(BATCH);
                // The batch's CPU work comes first; its writes go out together after it.
                let start = t + batch_seconds(n) - 0.030;
                let mut writes = Vec::new();
                for receives in queue.drain(..n) {
                    if receives >= 5 {
                        dead += 1;
                        continue;
                    }
                    // Uniform, as the layout's hash of a large catalog's keys is.
                    let shard = (rng.next() % shards as u64) as usize;
                    writes.push(Write {
                        at: start,
                        attempt: 1,
                        shard,
                        receives: receives + 1,
                    });
                }
                *slot = Some(Batch {
                    writes,
                    failed: Vec::new(),
                    last_write: start,
                });
            }
            let Some(batch) = slot else { continue };
            let mut i = 0;
            while i < batch.writes.len() {
                let w = &mut batch.writes[i];
                if w.at > t {
                    i += 1;
                } else if tokens[w.shard] >= 1.0 {
                    tokens[w.shard] -= 1.0;
                    *per_second.entry(t as u64).or_default() += 1;
                    done += 1;
                    batch.last_write = batch.last_write.max(t + WRITE_SECONDS);
                    batch.writes.swap_remove(i);
                } else if w.attempt < ATTEMPTS {
                    throttled += 1;
                    w.at = t + WRITE_SECONDS + backoff(w.attempt, rng.unit());
                    w.attempt += 1;
                    i += 1;
                } else {
                    throttled += 1;
                    let receives = w.receives;
                    batch.failed.push(receives);
                    batch.writes.swap_remove(i);
                }
            }
            if batch.writes.is_empty() && batch.last_write + AFTER_WRITES_SECONDS <= t {
                for receives in batch.failed.drain(..) {
                    handed_back += 1;
                    invisible.push((t + 180.0, receives));
                }
                *slot = None;
            }
        }
        step += 1;
    }
    Drain {
        seconds: step as f64 * dt,
        throttled_attempts: throttled,
        handed_back,
        dead_letters: dead,
        peak_writes_per_second: per_second.values().copied().max().unwrap_or(0),
    }
}

#[test]
fn draining_one_tenants_backlog_on_one_key_is_throttled_to_a_partitions_rate_and_sharding_lifts_it()
{
    let objects = 100_000;
    let one = throttled_drain(objects, 1, 7);
    let ten = throttled_drain(objects, 10, 7);
    println!("| layout | drain of {objects} | peak writes/s | throttled attempts | records handed back (180 s each) | dead letters |");
    println!("|---|---|---|---|---|---|");
    for (name, d) in [
        ("ItemShards 1: pk = tenant", &one),
        ("ItemShards 10: pk = tenant#shard", &ten),
    ] {
        println!(
            "| {name} | {:.0} s | {} | {} | {} | {} |",
            d.seconds,
            d.peak_writes_per_second,
            d.throttled_attempts,
            d.handed_back,
            d.dead_letters
        );
    }
    // One key never serves more than a partition's rate (plus the banked second).
    assert!(
        one.peak_writes_per_second <= 2 * PARTITION_WCU as u64,
        "{one:?}"
    );
    assert!(one.throttled_attempts > 0 && one.handed_back > 0, "{one:?}");
    // Ten keys drain it several times faster, without a single throttle.
    assert_eq!(ten.throttled_attempts, 0, "{ten:?}");
    assert!(ten.seconds * 3.0 < one.seconds, "{one:?} {ten:?}");
    assert_eq!(ten.dead_letters, 0);
}

/// How a queue hands messages to the worker's pollers.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Delivery {
    /// A standard queue without fairness: roughly in the order sent.
    InOrder,
    /// SQS fair queues: once a tenant holds more than 10 % of the messages in
    /// flight and at least 30 of them, it is a noisy neighbour, and the
    /// other tenants' messages are delivered first; it stays noisy until
    /// its backlog is drained (the documented rule; the processing-time
    /// rule is not modelled).
    Fair,
}

/// Dwell times (send to the start of the batch that carries it), seconds.
#[derive(Debug, Default)]
struct Lag {
    quiet_max: f64,
    quiet_p99: f64,
    noisy_max: f64,
}

/// `quiet` tenants sending `rate / 100` messages a second each and one
/// sending `rate`, for `seconds`, to the worker's event source (20 batches
/// of 25 at once, a 1 s batching window). A batch carrying the noisy
/// tenant's records lasts `noisy_batch_seconds` (its writes throttled) or,
/// when 0, as long as any other.
fn queue_lag(
    delivery: Delivery,
    rate: f64,
    quiet: usize,
    seconds: f64,
    noisy_batch_seconds: f64,
) -> Lag {
    // 5 ms steps: lags are read in seconds.
    let dt = 0.005;
    let tenants = quiet + 1;
    // Tenant 0 is the noisy one; each tenant's messages are sent evenly.
    let rates: Vec<f64> = (0..tenants)
        .map(|t| if t == 0 { rate } else { rate / 100.0 })
        .collect();
    let mut sent = vec![0.0f64; tenants];
    let mut waiting: Vec<VecDeque<f64>> = vec![VecDeque::new(); tenants];
    let mut in_order: VecDeque<(usize, f64)> = VecDeque::new();
    let mut in_flight = vec![0usize; tenants];
    let mut noisy = vec![false; tenants];
    // A slot: (busy until, its batch's count per tenant) or collecting since.
    let mut busy: Vec<(f64, Vec<(usize, usize)>)> = vec![(0.0, Vec::new()); CONCURRENCY];
    let mut collecting: Vec<Option<Collecting>> = vec![None; CONCURRENCY];
    let (mut quiet_lags, mut noisy_max) = (Vec::new(), 0.0f64);
    let end = seconds + 600.0;
    let mut step: u64 = 0;
    loop {
        let t = step as f64 * dt;
        if t > end {
            break;
        }
        if t < seconds {
            for (tenant, r) in rates.iter().enumerate() {
                sent[tenant] += r * dt;
                while sent[tenant] >= 1.0 {
                    sent[tenant] -= 1.0;
                    waiting[tenant].push_back(t);
                    in_order.push_back((tenant, t));
                }
            }
        }
        for slot in 0..CONCURRENCY {
            if busy[slot].0 > t {
                continue;
            }
            for (tenant, n) in busy[slot].1.drain(..) {
                in_flight[tenant] -= n;
            }
            let total_in_flight: usize = in_flight.iter().sum();
            for tenant in 0..tenants {
                if waiting[tenant].is_empty() {
                    noisy[tenant] = false;
                } else if in_flight[tenant] >= 30 && in_flight[tenant] * 10 > total_in_flight {
                    noisy[tenant] = true;
                }
            }
            let batch = collecting[slot].get_or_insert_with(|| (t, Vec::new()));
            while batch.1.len() < BATCH {
                let next = match delivery {
                    Delivery::InOrder => in_order.pop_front().inspect(|(tenant, _)| {
                        waiting[*tenant].pop_front();
                    }),
                    Delivery::Fair => {
                        let pick = |noisy_ok: bool| {
                            (0..tenants)
                                .filter(|&x| noisy[x] == noisy_ok && !waiting[x].is_empty())
                                .min_by(|&a, &b| waiting[a][0].total_cmp(&waiting[b][0]))
                        };
                        pick(false)
                            .or_else(|| pick(true))
                            .map(|x| (x, waiting[x].pop_front().unwrap_or(t)))
                    }
                };
                let Some((tenant, at)) = next else { break };
                in_flight[tenant] += 1;
                batch.1.push((tenant, at));
            }
            let full = batch.1.len() == BATCH;
            let window_over = !batch.1.is_empty() && t - batch.0 >= 1.0;
            if batch.1.is_empty() {
                batch.0 = t;
            }
            if full || window_over {
                let (_, records) = collecting[slot].take().unwrap_or_default();
                let mut counts: HashMap<usize, usize> = HashMap::new();
                for &(tenant, at) in &records {
                    *counts.entry(tenant).or_default() += 1;
                    if tenant == 0 {
                        noisy_max = noisy_max.max(t - at);
                    } else {
                        quiet_lags.push(t - at);
                    }
                }
                let carries_noisy = counts.contains_key(&0);
                let duration = if carries_noisy && noisy_batch_seconds > 0.0 {
                    noisy_batch_seconds
                } else {
                    batch_seconds(records.len())
                };
                busy[slot] = (t + duration, counts.into_iter().collect());
            }
        }
        if t >= seconds
            && waiting.iter().all(VecDeque::is_empty)
            && collecting.iter().all(Option::is_none)
        {
            break;
        }
        step += 1;
    }
    quiet_lags.sort_by(f64::total_cmp);
    Lag {
        quiet_max: quiet_lags.last().copied().unwrap_or(0.0),
        quiet_p99: quiet_lags
            .get(quiet_lags.len() * 99 / 100)
            .copied()
            .unwrap_or(0.0),
        noisy_max,
    }
}

#[test]
fn with_fair_queues_one_tenant_sending_100_times_the_others_leaves_their_lag_under_90_seconds() {
    let capacity = (CONCURRENCY * BATCH) as f64 / batch_seconds(BATCH);
    // The noisy tenant alone nearly fills the worker; with 20 others at a
    // hundredth each, the queue is 15 % over the worker's capacity for 15 minutes.
    let (rate, quiet, seconds) = (5_000.0, 20, 900.0);
    println!(
        "worker capacity {capacity:.0} events/s; one tenant at {rate:.0}/s, {quiet} at {:.0}/s each, for {seconds:.0} s",
        rate / 100.0
    );
    println!("| queue | noisy tenant's batches | quiet tenants' lag p99 | quiet max | noisy tenant's max |\n|---|---|---|---|---|");
    let mut results = Vec::new();
    for (delivery, noisy_batch, label) in [
        (Delivery::InOrder, 0.0, "as fast as others"),
        (Delivery::Fair, 0.0, "as fast as others"),
        (Delivery::Fair, 3.0, "3 s each (writes throttled, retried)"),
    ] {
        let lag = queue_lag(delivery, rate, quiet, seconds, noisy_batch);
        println!(
            "| {delivery:?} | {label} | {:.2} s | {:.2} s | {:.0} s |",
            lag.quiet_p99, lag.quiet_max, lag.noisy_max
        );
        results.push((delivery, noisy_batch, lag));
    }
    let in_order = &results[0].2;
    assert!(
        in_order.quiet_max > 90.0,
        "without fairness the quiet tenants wait behind the backlog: {in_order:?}"
    );
    for (_, _, lag) in &results[1..] {
        assert!(lag.quiet_max < 90.0, "{lag:?}");
        assert!(lag.noisy_max > lag.quiet_max, "{lag:?}");
    }
}
