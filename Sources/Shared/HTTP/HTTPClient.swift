import CCurl
package import Core
import Glibc

/// An HTTP client on libcurl's easy interface, one request at a time, as the loader sends them.
///
/// libcurl rather than FoundationNetworking's URLSession: under load, URLSession sometimes sent
/// a request's headers and never its body — on a kept-alive connection after a reset, and on
/// fresh connections too (seen by a review, 8 loads in parallel) — and the request hung until
/// its timeout; and a blocked URLSession task cannot be interrupted by a signal. Here the body
/// is handed to libcurl whole (`CURLOPT_POSTFIELDS`), so libcurl can send it again itself on a
/// dead kept-alive connection; a progress callback stops a request within a second of SIGINT or
/// SIGTERM. Redirects are not followed (libcurl's default): one would carry a session's
/// credentials wherever it points. `https_proxy` / `no_proxy` in the environment are honoured
/// (libcurl's).
package final class HTTPClient {
    private let handle: UnsafeMutableRawPointer
    private let timeout: Int

    /// - Parameter timeout: seconds a request may go without receiving a byte of its answer.
    package init(timeout: Double) throws(ConduitError) {
        // Also initialises libcurl once per process (the loader has one thread doing HTTP).
        guard let handle = curl_easy_init() else { throw .internalError("libcurl could not start (out of memory?)") }
        self.handle = handle
        self.timeout = max(1, Int(timeout))
    }

    deinit {
        curl_easy_cleanup(handle)
    }

    /// Sends one request and waits for its whole answer. The corresponding libcurl call is
    /// `curl_easy_perform`.
    package func send(
        method: String, url: String, headers: [(String, String)], body: [UInt8]
    ) -> Result<HTTPResponse, HTTPError> {
        // Keeps the connection cache (kept-alive connections, TLS sessions); drops the options.
        curl_easy_reset(handle)
        let answer = AnswerBuffer()
        var errorText = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        var list: UnsafeMutablePointer<curl_slist>?
        // "Expect:" off: libcurl would otherwise wait for a 100 Continue before large bodies.
        for line in headers.map({ "\($0.0): \($0.1)" }) + ["Expect:"] {
            list = curl_slist_append(list, line)
        }
        defer { curl_slist_free_all(list) }
        let code: CURLcode = url.withCString { urlText in
            method.withCString { methodText in
                // Never a null pointer: without POSTFIELDS, libcurl would read the body from stdin.
                (body.isEmpty ? [0] : body).withUnsafeBufferPointer { bodyBytes in
                    errorText.withUnsafeMutableBufferPointer { errorBuffer in
                        let box = Unmanaged.passRetained(answer)
                        defer { box.release() }
                        setOptions(
                            url: urlText, method: method, methodText: methodText, bodyCount: body.count, bodyBytes: bodyBytes,
                            errorBuffer: errorBuffer.baseAddress, headers: list, answer: box.toOpaque())
                        return curl_easy_perform(handle)
                    }
                }
            }
        }
        guard code == CURLE_OK else {
            return .failure(error(code, errorText: errorText))
        }
        return .success(HTTPResponse(status: conduit_curl_response_code(handle), body: answer.bytes))
    }

    /// Sets every option of one request on the freshly reset handle. The pointers must stay
    /// valid until `curl_easy_perform` returns: libcurl keeps them, it does not copy them all.
    private func setOptions(
        url: UnsafePointer<CChar>, method: String, methodText: UnsafePointer<CChar>, bodyCount: Int,
        bodyBytes: UnsafeBufferPointer<UInt8>, errorBuffer: UnsafeMutablePointer<CChar>?,
        headers: UnsafeMutablePointer<curl_slist>?, answer: UnsafeMutableRawPointer
    ) {
        conduit_curl_setopt_pointer(handle, CURLOPT_URL, url)
        conduit_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
        conduit_curl_setopt_pointer(handle, CURLOPT_HTTPHEADER, headers)
        if method == "GET" {
            conduit_curl_setopt_long(handle, CURLOPT_HTTPGET, 1)
        } else {
            conduit_curl_setopt_pointer(handle, CURLOPT_CUSTOMREQUEST, methodText)
            // The body stays in this buffer for the whole call; libcurl reads it
            // in place and can send it again on a fresh connection.
            conduit_curl_setopt_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bodyCount))
            conduit_curl_setopt_pointer(handle, CURLOPT_POSTFIELDS, UnsafeRawPointer(bodyBytes.baseAddress))
        }
        conduit_curl_setopt_write(
            handle,
            { data, size, count, context in
                guard let context, let data else { return 0 }
                let buffer = Unmanaged<AnswerBuffer>.fromOpaque(context).takeUnretainedValue()
                let length = size * count
                data.withMemoryRebound(to: UInt8.self, capacity: length) {
                    buffer.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: length))
                }
                return length
            })
        conduit_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, answer)
        conduit_curl_setopt_long(handle, CURLOPT_NOPROGRESS, 0)
        conduit_curl_setopt_progress(
            handle,
            { _, _, _, _, _ in
                SignalForwarding.stopSignal == nil ? 0 : 1
            })
        conduit_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, min(timeout, 30))
        // No byte for `timeout` seconds: the service or the network is in trouble.
        conduit_curl_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, 1)
        conduit_curl_setopt_long(handle, CURLOPT_LOW_SPEED_TIME, timeout)
        conduit_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        conduit_curl_setopt_long(handle, CURLOPT_TCP_KEEPALIVE, 1)
        // Answers may come compressed; libcurl decodes them.
        conduit_curl_setopt_pointer(handle, CURLOPT_ACCEPT_ENCODING, "")
    }

    /// Why `curl_easy_perform` failed: libcurl's own words from the error buffer, or its text for
    /// the code when the buffer stayed empty.
    private func error(_ code: CURLcode, errorText: [CChar]) -> HTTPError {
        var detail = String(decoding: errorText.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if detail.isEmpty, let text = curl_easy_strerror(code) {
            detail = String(validatingCString: text) ?? "libcurl error \(code.rawValue)"
        }
        return Self.failure(code, detail: detail, osError: Int32(truncatingIfNeeded: conduit_curl_os_errno(handle)))
    }

    private static func failure(_ code: CURLcode, detail: String, osError: Int32) -> HTTPError {
        switch code {
        case CURLE_ABORTED_BY_CALLBACK:
            let signal = SignalForwarding.stopSignal ?? SIGTERM
            return HTTPError(message: "stopped by signal \(signal)", isUnreachable: false, stoppedBySignal: signal)
        case CURLE_COULDNT_CONNECT:
            return HTTPError(
                message: "could not connect (\(osError == ECONNREFUSED ? "connection refused" : detail))", isUnreachable: true)
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return HTTPError(message: "the host name does not resolve (\(detail))", isUnreachable: true)
        case CURLE_OPERATION_TIMEDOUT:
            return HTTPError(message: "timed out waiting for an answer (\(detail))", isUnreachable: true)
        case CURLE_GOT_NOTHING:
            return HTTPError(message: "the connection closed without an answer", isUnreachable: true)
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_PARTIAL_FILE:
            return HTTPError(message: "the connection was lost (\(detail))", isUnreachable: true)
        case CURLE_SSL_CONNECT_ERROR:
            return HTTPError(message: "the TLS handshake failed (\(detail))", isUnreachable: true)
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE:
            return HTTPError(message: "the server's TLS certificate is not trusted (\(detail))", isUnreachable: false)
        default:
            return HTTPError(message: detail, isUnreachable: false)
        }
    }

    /// The answer's bytes as libcurl hands them over, reached from its C callback.
    private final class AnswerBuffer {
        var bytes: [UInt8] = []
    }
}

@available(*, unavailable)
extension HTTPClient: Sendable {}
