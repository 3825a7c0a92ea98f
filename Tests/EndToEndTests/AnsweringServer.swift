import TestSupport

/// What the Snowflake tests' answering servers share. Each stands in where fakesnow cannot judge
/// (SnowflakeLoadTests' stub, SnowflakeSignInTests' server): a Python script that imports
/// `answering.py` and extends its handler.
enum AnsweringServer {
    /// `answering.py`: `Handler`, whose `answer` sends a status and a body and which writes no
    /// request log to stderr, and `serve`, which listens on a free port of 127.0.0.1, writes the
    /// port to the file `port` and serves until it is killed.
    static let module = #"""
        import http.server

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self, status, body, kind="application/json"):
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            def log_message(self, *args):
                pass

        def serve(handler, server_class=http.server.HTTPServer):
            server = server_class(("127.0.0.1", 0), handler)
            with open("port", "w") as f:
                f.write(str(server.server_address[1]))
            server.serve_forever()
        """#

    /// Runs `script` in `box` with `server` up: the server is written to stub.py beside
    /// answering.py and started by `python` (a shell word) with `arguments` (shell words); its
    /// port is in `$STUB_PORT`, and it is killed at the end.
    static func run(
        _ server: String, python: String, arguments: [String], then script: String, in box: Sandbox,
        _ environment: [String: String]
    ) throws -> Sandbox.Result {
        try box.write(module, to: "answering.py")
        try box.write(server, to: "stub.py")
        // No __pycache__ of answering.py in the sandbox: the tests see only what the run left.
        return try box.run(
            """
            rm -f port
            PYTHONDONTWRITEBYTECODE=1 \(python) stub.py \(arguments.joined(separator: " ")) & stub=$!
            # SIGKILL: the test runner's children start with SIGTERM blocked.
            trap 'kill -9 $stub' EXIT
            for i in $(seq 100); do [ -s port ] && break; sleep 0.1; done
            export STUB_PORT=$(cat port)
            \(script)
            """, environment: environment)
    }
}
