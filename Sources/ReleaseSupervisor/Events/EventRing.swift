/// A fixed number of the most recent elements: appending to a full ring forgets the oldest. Storage is allocated
/// once, at the first append, and never grows.
public struct EventRing<Element: Sendable>: Sendable {
    /// The most elements held.
    public let capacity: Int
    private var storage: [Element] = []
    /// Where the oldest element is, once the ring is full.
    private var start = 0

    /// An empty ring of `capacity` (at least 1) elements.
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// How many elements it holds.
    public var count: Int { storage.count }

    /// Adds `element` as the newest, forgetting the oldest when the ring is full.
    public mutating func append(_ element: Element) {
        if storage.count < capacity {
            if storage.isEmpty { storage.reserveCapacity(capacity) }
            storage.append(element)
        } else {
            storage[start] = element
            start = (start + 1) % capacity
        }
    }

    /// Every element, oldest first.
    public var elements: [Element] { Array(storage[start...] + storage[..<start]) }

    /// The newest `limit` elements for which `isIncluded` holds, oldest first.
    public func newest(_ limit: Int, where isIncluded: (Element) -> Bool) -> [Element] {
        var found: [Element] = []
        for offset in stride(from: storage.count - 1, through: 0, by: -1) where found.count < limit {
            let element = storage[(start + offset) % storage.count]
            if isIncluded(element) { found.append(element) }
        }
        return found.reversed()
    }
}
