import ChorusAPI
import ChorusAuthorization
import ChorusCore
import ChorusService
import Prometheus
import ChorusNode
import HTTPTypes
import Hummingbird
import NIOCore

/// The operations routes: cluster status, health, metrics.
extension KeyValueAPI {
    func cluster() async throws -> Response {
        let status: NodeStatus
        do { status = try await service.status(caller: RequestCaller.current) } catch {
            throw APIError(error, requestURI: "/v1/cluster")
        }
        let leaderless = await service.node.leaderlessStatus()
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: ClusterJSON.render(status, leaderless: leaderless))))
    }

    func health() async -> Response {
        guard let status = try? await service.status() else {
            return APIError(.stopped, "the node has stopped").response()
        }
        let body =
            "{\"status\":\"ok\",\"node\":\(status.node.rawValue),\"role\":\"\(ClusterJSON.roleName(status.role))\",\"leader\":\(status.leader.rawValue),\"term\":\(status.term.rawValue)}\n"
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    /// `cluster.metrics`: a scrape shows the node's load and internals.
    func metrics() throws -> Response {
        do { try service.authorize(RequestCaller.current, .clusterMetrics, .cluster) } catch {
            throw APIError(error, requestURI: "/metrics")
        }
        var bytes: [UInt8] = []
        configuration.metricsRegistry?.emit(into: &bytes)
        var buffer = ByteBuffer()
        buffer.writeBytes(bytes)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: buffer))
    }
}
