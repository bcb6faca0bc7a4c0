//! Logs and metrics: [`init_logs`] (tracing, text or JSON on stderr, level from `RUST_LOG`),
//! [`Metrics`] (the node's Prometheus metrics as typed fields in one prometheus-client
//! registry) and [`serve_metrics`] (`/metrics` in the OpenMetrics text format and `/healthz`
//! on their own HTTP port).
//!
//! The runtime owns one `Arc<Metrics>` and updates its fields where the event happens (the
//! driver sets `view`, the executor `height`, the mempool actor `mempool_*`, the API counts
//! refusals); the HTTP task only reads. prometheus-client 0.25 is the registry libp2p-metrics
//! uses, so the network's metrics can join the same registry ([`Metrics::registry_mut`],
//! before the `Arc` is made).

use crate::config::LogFormat;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// The log level when `RUST_LOG` is unset.
pub const LOG_LEVEL_DEFAULT: &str = "info";
/// The content type of `/metrics`.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The prefix of every node metric (`volt_height`).
pub const METRICS_PREFIX: &str = "volt";

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// `RUST_LOG` is not a valid filter.
    #[error("RUST_LOG: {0}")]
    Filter(String),
    /// A global subscriber was already installed.
    #[error("logging was already initialised: {0}")]
    AlreadySet(String),
}

/// Installs the process's log subscriber: `format` lines on stderr, filtered by `RUST_LOG`
/// (default [`LOG_LEVEL_DEFAULT`]). Call once, before the runtime starts.
pub fn init_logs(format: LogFormat) -> Result<(), TelemetryError> {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var(EnvFilter::DEFAULT_ENV) {
        Ok(spec) if !spec.trim().is_empty() => {
            EnvFilter::try_new(&spec).map_err(|e| TelemetryError::Filter(e.to_string()))?
        }
        _ => EnvFilter::new(LOG_LEVEL_DEFAULT),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|e| TelemetryError::AlreadySet(e.to_string()))
}

/// The label of [`Metrics::submit_refused`]: why a submission was refused (the mempool's
/// reason, the ledger's `ErrorCode` name where one exists).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabels {
    /// `NonceTooLow`, `MempoolFull`, `BadSignature`, …
    pub reason: String,
}

/// The node's metrics. Every field is a handle into the registry (cloning one shares it);
/// update them directly: `metrics.height.set(h as i64)`, `metrics.txs_applied.inc()`,
/// `metrics.finality_latency.observe(secs)`.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// `volt_height`: the last height applied to the ledger (what queries see).
    pub height: Gauge,
    /// `volt_view`: the consensus core's current view.
    pub view: Gauge,
    /// `volt_finalized_height`: the highest height consensus has finalized (may briefly lead
    /// `height` while the executor catches up).
    pub finalized_height: Gauge,
    /// `volt_certified_height`: the highest height with a state certificate.
    pub certified_height: Gauge,
    /// `volt_mempool_txs`: transactions in the mempool.
    pub mempool_txs: Gauge,
    /// `volt_mempool_bytes`: encoded bytes in the mempool.
    pub mempool_bytes: Gauge,
    /// `volt_txs_applied_total`: transactions applied (receipt outcome applied).
    pub txs_applied: Counter,
    /// `volt_txs_failed_total`: transactions included but failed (fee charged, no effect).
    pub txs_failed: Counter,
    /// `volt_txs_rejected_total`: transactions included but rejected by the ledger.
    pub txs_rejected: Counter,
    /// `volt_txs_disputed_total`: transactions that ended disputed (a swap attestation).
    pub txs_disputed: Counter,
    /// `volt_submit_refused_total{reason}`: submissions refused at admission, by reason.
    pub submit_refused: Family<RefusalLabels, Counter>,
    /// `volt_storage_errors_total`: storage reads or writes that failed (checksum, I/O).
    pub storage_errors: Counter,
    /// `volt_journal_syncs_total`: vote journal fsyncs.
    pub journal_syncs: Counter,
    /// `volt_finality_latency_seconds`: a block's proposal time to its finalization here.
    pub finality_latency: Histogram,
    /// `volt_journal_fsync_seconds`: one vote journal fsync.
    pub journal_fsync: Histogram,
    /// `volt_block_apply_seconds`: executing one finalized block and committing it to storage.
    pub block_apply: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Every node metric, registered under [`METRICS_PREFIX`] in a fresh registry.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let m = Metrics {
            registry: Registry::default(),
            height: Gauge::default(),
            view: Gauge::default(),
            finalized_height: Gauge::default(),
            certified_height: Gauge::default(),
            mempool_txs: Gauge::default(),
            mempool_bytes: Gauge::default(),
            txs_applied: Counter::default(),
            txs_failed: Counter::default(),
            txs_rejected: Counter::default(),
            txs_disputed: Counter::default(),
            submit_refused: Family::default(),
            storage_errors: Counter::default(),
            journal_syncs: Counter::default(),
            // 10 ms to about 40 s: a dev block a second, a pilot block a minute.
            finality_latency: Histogram::new(exponential_buckets(0.01, 2.0, 13)),
            // 50 µs to about 1.6 s: a healthy SSD fsync is well under 10 ms.
            journal_fsync: Histogram::new(exponential_buckets(0.000_05, 2.0, 16)),
            // 1 ms to about 16 s: a full block of transfers with its sled batch.
            block_apply: Histogram::new(exponential_buckets(0.001, 2.0, 15)),
        };
        m.register(registry.sub_registry_with_prefix(METRICS_PREFIX));
        Metrics { registry, ..m }
    }

    fn register(&self, r: &mut Registry) {
        let gauges = [
            ("height", "Last height applied to the ledger", &self.height),
            ("view", "Current consensus view", &self.view),
            ("finalized_height", "Highest finalized height", &self.finalized_height),
            ("certified_height", "Highest height with a state certificate", &self.certified_height),
            ("mempool_txs", "Transactions in the mempool", &self.mempool_txs),
            ("mempool_bytes", "Encoded bytes in the mempool", &self.mempool_bytes),
        ];
        for (name, help, gauge) in gauges {
            r.register(name, help, gauge.clone());
        }
        let counters = [
            ("txs_applied", "Transactions applied", &self.txs_applied),
            ("txs_failed", "Transactions included but failed", &self.txs_failed),
            ("txs_rejected", "Transactions included but rejected", &self.txs_rejected),
            ("txs_disputed", "Transactions that ended disputed", &self.txs_disputed),
            ("storage_errors", "Failed storage reads or writes", &self.storage_errors),
            ("journal_syncs", "Vote journal fsyncs", &self.journal_syncs),
        ];
        for (name, help, counter) in counters {
            r.register(name, help, counter.clone());
        }
        let refused = "Submissions refused at admission, by reason";
        r.register("submit_refused", refused, self.submit_refused.clone());
        let histograms = [
            ("finality_latency", "Block proposal time to finalization", &self.finality_latency),
            ("journal_fsync", "Vote journal fsync duration", &self.journal_fsync),
            ("block_apply", "Executing and committing one finalized block", &self.block_apply),
        ];
        for (name, help, histogram) in histograms {
            r.register_with_unit(name, help, Unit::Seconds, histogram.clone());
        }
    }

    /// Counts one refused submission under `reason`.
    pub fn refused(&self, reason: &str) {
        self.submit_refused.get_or_create(&RefusalLabels { reason: reason.to_owned() }).inc();
    }

    /// Sets a height-like gauge from a `u64` (saturating at `i64::MAX`).
    pub fn set(gauge: &Gauge, value: u64) {
        gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
    }

    /// Records a duration into a seconds histogram.
    pub fn observe(histogram: &Histogram, elapsed: Duration) {
        histogram.observe(elapsed.as_secs_f64());
    }

    /// The registry, to add other metrics (libp2p's) before the node shares `Metrics`.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The whole registry in the OpenMetrics text format (ends with `# EOF`).
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// Serves `GET /metrics` (OpenMetrics text) and `GET /healthz` (`ok`) on `addr` (port 0: any
/// free port). Returns the bound address and the server task; abort the task to stop it.
pub async fn serve_metrics(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
) -> std::io::Result<(SocketAddr, JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(metrics_page))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(metrics);
    let task = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((local, task))
}

async fn metrics_page(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    match metrics.encode() {
        Ok(text) => (StatusCode::OK, [(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)], text),
        Err(e) => {
            let text = format!("encoding the metrics failed: {e}\n");
            (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "text/plain")], text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    /// One HTTP/1.1 GET over a raw socket; the whole response as text.
    async fn get(addr: SocketAddr, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    #[test]
    fn every_metric_is_named_and_typed() {
        // Proves the registry holds each metric under its documented name and type.
        let metrics = Metrics::new();
        metrics.refused("NonceTooLow");
        let text = metrics.encode().unwrap();
        for line in [
            "# TYPE volt_height gauge",
            "# TYPE volt_view gauge",
            "# TYPE volt_finalized_height gauge",
            "# TYPE volt_certified_height gauge",
            "# TYPE volt_mempool_txs gauge",
            "# TYPE volt_mempool_bytes gauge",
            "# TYPE volt_txs_applied counter",
            "# TYPE volt_txs_failed counter",
            "# TYPE volt_txs_rejected counter",
            "# TYPE volt_txs_disputed counter",
            "# TYPE volt_submit_refused counter",
            "volt_submit_refused_total{reason=\"NonceTooLow\"} 1",
            "# TYPE volt_storage_errors counter",
            "# TYPE volt_journal_syncs counter",
            "# TYPE volt_finality_latency_seconds histogram",
            "# TYPE volt_journal_fsync_seconds histogram",
            "# TYPE volt_block_apply_seconds histogram",
            "# EOF",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }

    #[tokio::test]
    async fn metrics_are_served_over_http() {
        // Proves /metrics serves an updated value in the OpenMetrics format and /healthz
        // answers, on a port chosen by the OS.
        let metrics = Arc::new(Metrics::new());
        let (addr, task) =
            serve_metrics("127.0.0.1:0".parse().unwrap(), metrics.clone()).await.unwrap();
        Metrics::set(&metrics.height, 42);
        metrics.txs_applied.inc_by(7);
        Metrics::observe(&metrics.journal_fsync, Duration::from_millis(3));
        let page = get(addr, "/metrics").await;
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        assert!(page.contains("application/openmetrics-text"), "{page}");
        assert!(page.contains("\nvolt_height 42\n"), "{page}");
        assert!(page.contains("\nvolt_txs_applied_total 7\n"), "{page}");
        assert!(page.contains("volt_journal_fsync_seconds_count 1\n"), "{page}");
        let health = get(addr, "/healthz").await;
        assert!(health.starts_with("HTTP/1.1 200") && health.ends_with("ok\n"), "{health}");
        task.abort();
    }
}
