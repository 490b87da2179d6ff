//! The server example's metrics: a Prometheus recorder, installed for the whole process, whose
//! rendering `/metrics` answers (through ws-echo's `Config::metrics`).

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Installs the recorder, with ws-echo's durations as histograms, and describes ws-echo's
/// metrics to it.
pub fn install() -> Result<PrometheusHandle, String> {
    let durations = Matcher::Suffix("_duration_seconds".into());
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(durations, ws_echo::metrics::DURATION_BUCKETS)
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    ws_echo::metrics::describe();
    // The recorder keeps every histogram sample until it is rendered or upkept: a server that
    // is never scraped would grow by some 37 bytes a connection (bench/soak.sh found it).
    let upkept = handle.clone();
    std::thread::Builder::new()
        .name("metrics upkeep".into())
        .spawn(move || loop {
            std::thread::sleep(UPKEEP_EVERY);
            upkept.run_upkeep();
        })
        .map_err(|e| format!("cannot start the metrics upkeep: {e}"))?;
    Ok(handle)
}

/// How often the recorder folds its pending histogram samples into their buckets.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
