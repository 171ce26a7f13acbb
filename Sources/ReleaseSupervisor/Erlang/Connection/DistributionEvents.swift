/// What happens on a connection, in order, as an async sequence that ends after its one `.nodedown`.
///
/// Buffers the newest 1,024 events if nobody reads, so the final `.nodedown` is never dropped; unsolicited
/// messages among them are held only within `DistributionConfiguration.messageBufferLimit`. One task
/// iterates it, as with any `AsyncStream`.
public struct DistributionEvents: AsyncSequence, Sendable {
    /// An event of the connection.
    public typealias Element = DistributionEvent
    /// Iterating never fails: the sequence simply ends after `.nodedown`.
    public typealias Failure = Never

    let stream: AsyncStream<DistributionEvent>
    let messages: UnsolicitedMessages

    /// The iterator, which releases each message's share of the budget as it hands the message out.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncStream<DistributionEvent>.Iterator
        let messages: UnsolicitedMessages

        /// The next event, waiting for it; nil after `.nodedown`.
        public mutating func next() async -> DistributionEvent? {
            taken(await base.next())
        }

        /// The next event, waiting for it on `actor`'s executor; nil after `.nodedown`.
        public mutating func next(isolation actor: isolated (any Actor)?) async -> DistributionEvent? {
            taken(await base.next(isolation: actor))
        }

        private func taken(_ event: DistributionEvent?) -> DistributionEvent? {
            if case .message = event { messages.release() }
            return event
        }
    }

    /// An iterator over the events; the sequence has one consumer.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream.makeAsyncIterator(), messages: messages)
    }
}
