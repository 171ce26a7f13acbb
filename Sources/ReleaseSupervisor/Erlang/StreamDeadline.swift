/// Runs `operation` on `stream` against a deadline: if `timeout` passes first, the stream is closed (which
/// ends an operation stuck reading it) and the result is `timedOut()`.
///
/// - Returns: the first result, or nil when the calling task was cancelled before either came.
func withStreamDeadline<Value: Sendable>(
    _ timeout: Duration, closing stream: any ByteStream, timedOut: @escaping @Sendable () -> DistributionError,
    _ operation: @escaping @Sendable () async -> Result<Value, DistributionError>
) async -> Result<Value, DistributionError>? {
    await withTaskGroup(of: Result<Value, DistributionError>?.self) { group in
        group.addTask { await operation() }
        group.addTask {
            do { try await Task.sleep(for: timeout) } catch { return nil }
            await stream.close()
            return .failure(timedOut())
        }
        var first: Result<Value, DistributionError>?
        while first == nil, let next = await group.next() { first = next }
        group.cancelAll()
        return first
    }
}
