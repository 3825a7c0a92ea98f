import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP exchange with the service: the status and the body, or why there was none.
package struct HTTPReply: Sendable {
    package var status: Int
    package var body: [UInt8]
}

/// Why an HTTP exchange produced no reply.
package struct HTTPFailure: Error, Sendable {
    package var message: String
    /// The service could not be reached (refused, unresolved, timed out): a retry may help.
    package var isUnreachable: Bool
}

/// The toolchain's HTTP client (URLSession), made synchronous: the loader sends one request at
/// a time and waits for its answer, so a blocking call is the honest shape.
package final class SnowflakeHTTP {
    private let session: URLSession

    /// - Parameter timeout: seconds a request may wait for the next bytes of its answer.
    package init(timeout: Double) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = 6 * 60 * 60
        configuration.httpMaximumConnectionsPerHost = 1
        session = URLSession(configuration: configuration, delegate: NoRedirects(), delegateQueue: nil)
    }

    deinit {
        session.finishTasksAndInvalidate()
    }

    /// Sends one request and waits for its whole answer.
    package func send(
        method: String, url: String, headers: [(String, String)], body: [UInt8]
    ) -> Result<HTTPReply, HTTPFailure> {
        guard let address = URL(string: url) else {
            return .failure(HTTPFailure(message: "\(url) is not a valid URL", isUnreachable: false))
        }
        var request = URLRequest(url: address)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        // One connection per request. On a kept-alive connection that turns out dead, libcurl
        // (under FoundationNetworking) reconnects and re-sends by itself — without the body
        // (seen: the server then waited for it until the timeout, 120 s, with data and upload
        // tasks alike). A fresh connection fails visibly instead, and the retry resends it whole.
        request.setValue("close", forHTTPHeaderField: "Connection")
        request.httpBody = Data(body)
        let task = session.dataTask(with: request) { data, response, error in
            if let error {
                outcome.result = .failure(Self.failure(error))
            } else {
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                outcome.result = .success(HTTPReply(status: status, body: data.map { [UInt8]($0) } ?? []))
            }
            done.signal()
        }
        task.resume()
        done.wait()
        return outcome.result ?? .failure(HTTPFailure(message: "no answer", isUnreachable: true))
    }

    private static func failure(_ error: any Error) -> HTTPFailure {
        guard let urlError = error as? URLError else {
            return HTTPFailure(message: "\(error)", isUnreachable: true)
        }
        // Not reached, or no answer heard: a connection refused, reset or closed before its
        // answer ("Empty reply from server" is .badServerResponse), or silent too long.
        let unreachable: Set<URLError.Code> = [
            .cannotConnectToHost, .cannotFindHost, .dnsLookupFailed, .timedOut, .networkConnectionLost,
            .notConnectedToInternet, .secureConnectionFailed, .cannotLoadFromNetwork, .resourceUnavailable,
            .badServerResponse, .zeroByteResource,
        ]
        let message: String
        switch urlError.code {
        case .cannotConnectToHost: message = "could not connect (connection refused)"
        case .cannotFindHost, .dnsLookupFailed: message = "the host name does not resolve"
        case .timedOut: message = "timed out waiting for an answer"
        case .networkConnectionLost: message = "the connection was lost"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
             .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot:
            message = "the TLS handshake failed (\(urlError.localizedDescription))"
        default: message = urlError.localizedDescription
        }
        return HTTPFailure(message: message, isUnreachable: unreachable.contains(urlError.code))
    }

    /// Refuses every redirect: a redirect would carry the session token to wherever it points,
    /// and the statement's body would not follow. The 3xx comes back as the answer instead.
    private final class NoRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
        func urlSession(
            _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
            newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
        ) {
            completionHandler(nil)
        }
    }

    /// The callback's result, handed to the waiting thread; the semaphore orders the accesses.
    private final class Outcome: @unchecked Sendable {
        var result: Result<HTTPReply, HTTPFailure>?
    }
}

@available(*, unavailable)
extension SnowflakeHTTP: Sendable {}
