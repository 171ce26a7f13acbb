/// How often a failed release may be restarted, and how long to wait before each restart.
///
/// At most `maxRestarts` within any `window`; past that the release is left `failed`. The wait before a
/// restart grows with the restarts already in the window: `initialBackoff × multiplier^n`, at most
/// `maximumBackoff`, spread by ± `jitter` so that releases failing together do not restart in step.
public struct RestartPolicy: Sendable, Equatable {
    /// Restarts allowed within `window`.
    public var maxRestarts: Int
    /// The sliding window restarts are counted in.
    public var window: Duration
    /// The wait before the first restart in a window.
    public var initialBackoff: Duration
    /// The longest wait.
    public var maximumBackoff: Duration
    /// Growth of the wait per restart already in the window.
    public var multiplier: Double
    /// The fraction (0 to 1) by which each wait is randomly lengthened or shortened.
    public var jitter: Double

    /// Creates a policy; the defaults are 5 restarts in 5 minutes, waits from 0.5 s doubling to 30 s, ±20 %.
    public init(
        maxRestarts: Int = 5, window: Duration = .seconds(300), initialBackoff: Duration = .milliseconds(500),
        maximumBackoff: Duration = .seconds(30), multiplier: Double = 2, jitter: Double = 0.2
    ) {
        self.maxRestarts = maxRestarts
        self.window = window
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.multiplier = multiplier
        self.jitter = jitter
    }

    /// Never restart.
    public static let never = RestartPolicy(maxRestarts: 0)
}
