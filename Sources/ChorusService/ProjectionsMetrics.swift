import CoreMetrics

/// The projections' metrics: lag per projection (the label is a projection
/// name from the definitions file, at most `maximumProjections` of them, so
/// cardinality is bounded) and how many are parked.
final class ProjectionsMetrics: Sendable {
    let lagEvents: [String: Gauge]
    let lagSeconds: [String: Gauge]
    let parked: Gauge
    let rebuilding: Gauge

    init(names: [String], factory: (any MetricsFactory)?) {
        func gauge(_ label: String, _ dimensions: [(String, String)]) -> Gauge {
            factory.map { Gauge(label: label, dimensions: dimensions, factory: $0) } ?? Gauge(label: label, dimensions: dimensions)
        }
        lagEvents = Dictionary(uniqueKeysWithValues: names.map { ($0, gauge("chorus_projection_lag_events", [("projection", $0)])) })
        lagSeconds = Dictionary(uniqueKeysWithValues: names.map { ($0, gauge("chorus_projection_lag_seconds", [("projection", $0)])) })
        parked = gauge("chorus_projections_parked", [])
        rebuilding = gauge("chorus_projections_rebuilding", [])
    }
}
