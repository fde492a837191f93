import ChorusClient
import Foundation
import Testing

/// Short backoff, so a test of retries takes a fraction of a second. The
/// default timeouts are long: a test that is not about time must not fail on
/// a loaded machine; tests of deadlines pass their own.
func quickConfiguration(
    requestMilliseconds: Int = 2_000, operationMilliseconds: Int = 30_000
) -> ChorusClient.Configuration {
    var configuration = ChorusClient.Configuration()
    configuration.requestTimeoutMilliseconds = requestMilliseconds
    configuration.connectTimeoutMilliseconds = min(1_000, requestMilliseconds)
    // Generous, so a loaded machine does not cut the last attempt short.
    configuration.minimumAttemptMilliseconds = min(150, requestMilliseconds)
    configuration.operationTimeoutMilliseconds = operationMilliseconds
    configuration.retryBackoffInitialMilliseconds = 5
    configuration.retryBackoffMaximumMilliseconds = 40
    return configuration
}

/// The error a call threw, or nil if it returned (anything but a
/// `ChorusClientError` is recorded as an issue: the client throws only those).
func failure<Value>(_ body: () async throws -> Value) async -> ChorusClientError? {
    do {
        _ = try await body()
        return nil
    } catch let error as ChorusClientError {
        return error
    } catch {
        Issue.record("not a ChorusClientError: \(error)")
        return nil
    }
}

/// A file beside the tests, in `Fixtures/`.
func fixture(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent(name).path
}

/// Milliseconds since `start`.
func millisecondsSince(_ start: ContinuousClock.Instant) -> Int {
    let elapsed = ContinuousClock.now - start
    return Int(elapsed.components.seconds * 1_000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
}
