import NIOCore
import NIOHTTP1
import Prometheus

/// Answers one connection's requests: `GET` or `HEAD /metrics` with the registry in Prometheus's text format
/// (version 0.0.4), 404 for another path, 405 for another method. Runs on the metrics event loop only.
final class MetricsHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let registry: PrometheusCollectorRegistry
    private var request: HTTPRequestHead?
    private var deadline: Scheduled<Void>?
    /// The last exposition's size, to reserve the next one's buffer at once.
    private var lastSize = 16 * 1024

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    func handlerAdded(context: ChannelHandlerContext) {
        armDeadline(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break  // a scrape has no body; whatever comes is dropped as it arrives
        case .end:
            guard let head = request else { return }
            request = nil
            deadline?.cancel()
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        let status: HTTPResponseStatus
        var body: [UInt8]
        var contentType = "text/plain; charset=utf-8"
        if head.method != .GET && head.method != .HEAD {
            (status, body) = (.methodNotAllowed, Array("only GET and HEAD are served here\n".utf8))
        } else if path != "/metrics" {
            (status, body) = (.notFound, Array("metrics are at /metrics\n".utf8))
        } else {
            body = []
            body.reserveCapacity(lastSize)
            registry.emit(into: &body)
            lastSize = body.count + body.count / 8
            status = .ok
            contentType = "text/plain; version=0.0.4; charset=utf-8"
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(body.count)")
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let response = HTTPResponseHead(version: head.version, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(response)), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        // The answer must be taken within the deadline too: it is armed again at once, and a caller that neither
        // reads it nor sends a next request within it is closed.
        armDeadline(context)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }

    private func armDeadline(_ context: ChannelHandlerContext) {
        deadline?.cancel()
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: MetricsLimits.requestDeadline) {
            channel.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
