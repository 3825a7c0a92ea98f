import Foundation
import TestSupport
import Testing

/// scripts/install.sh, run for real into a temporary PREFIX. The suite must not wait minutes for
/// a release build (nor start one while `swift test` holds the build folder), so the script
/// installs the executables this test run was built with (`CONDUIT_PREBUILT`, the harness's
/// binary folder); everything after the build — completions, man pages, modes, DESTDIR, the
/// writability check — is the script's one code path.
@Suite struct InstallScriptTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let script = "\(repositoryRoot)/scripts/install.sh"
    static let tools = ["conduit-extract", "conduit-load", "conduit-state"]
    static let environment = ["CONDUIT_PREBUILT": Sandbox.binaryFolder, "DESTDIR": ""]

    /// Every file the script installs under `prefix`, with its mode.
    static func expectedFiles(_ prefix: String) -> [(path: String, mode: String)] {
        tools.flatMap { tool in
            [
                ("\(prefix)/bin/\(tool)", "755"),
                ("\(prefix)/share/bash-completion/completions/\(tool)", "644"),
                ("\(prefix)/share/zsh/site-functions/_\(tool)", "644"),
                ("\(prefix)/share/fish/vendor_completions.d/\(tool).fish", "644"),
                ("\(prefix)/share/man/man1/\(tool).1", "644"),
            ]
        }
    }

    /// The installed tools run and report the built version; completions and man pages are there,
    /// non-empty, with the right modes; bash completion registers; the pages are man(7) roff.
    @Test func installsToolsCompletionsAndManPages() throws {
        let box = try Sandbox()
        let prefix = box.path("prefix")
        let result = try box.run("'\(Self.script)' '\(prefix)'", environment: Self.environment)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("man pages made from each tool's --help"), "\(result.stdout)")
        for (path, mode) in Self.expectedFiles(prefix) {
            #expect(result.stdout.contains("installed \(path)\n"), "\(path) not reported: \(result.stdout)")
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.size] as? Int ?? 0) > 0, "\(path) is empty")
            let permissions = (attributes[.posixPermissions] as? Int).map { String($0, radix: 8) }
            #expect(permissions == mode, "\(path) has mode \(permissions ?? "?"), not \(mode)")
        }

        let checks = try box.run(
            """
            for tool in \(Self.tools.joined(separator: " ")); do
              installed=$('\(prefix)'/bin/$tool --version) || { echo "$tool --version failed"; continue; }
              [ "$installed" = "$($tool --version)" ] && echo "$tool version ok"
              head -n 2 '\(prefix)'/share/man/man1/$tool.1 | grep -q "^\\.TH \\"$(echo $tool | tr a-z A-Z)\\" 1 " && echo "$tool page ok"
            done
            bash -c "source '\(prefix)/share/bash-completion/completions/conduit-state' && complete -p conduit-state"
            """)
        for tool in Self.tools {
            #expect(checks.stdout.contains("\(tool) version ok"), "\(checks.stdout)\n\(checks.stderr)")
            #expect(checks.stdout.contains("\(tool) page ok"), "\(checks.stdout)\n\(checks.stderr)")
        }
        #expect(checks.stdout.contains("complete -o filenames -F _conduit-state conduit-state"), "\(checks.stdout)")

        // The pages carry the help text whole: its sections, its options, its non-ASCII text.
        let load = try String(contentsOfFile: "\(prefix)/share/man/man1/conduit-load.1", encoding: .utf8)
        for section in [".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS", ".SH EXAMPLES"] {
            #expect(load.contains("\n\(section)\n"), "conduit-load.1 lacks \(section)")
        }
        #expect(load.contains("\\fB\\-\\-infer\\-types\\fR"))
        #expect(load.contains("integer → bigint"))
        let state = try String(contentsOfFile: "\(prefix)/share/man/man1/conduit-state.1", encoding: .utf8)
        for subcommand in ["SHOW", "GET", "SET", "RESET", "COMMIT"] {
            #expect(state.contains(".SH \"CONDUIT\\-STATE \(subcommand)\""), "conduit-state.1 lacks \(subcommand)")
        }

        // Where groff is installed, the pages render without a warning.
        let render = try box.run(
            """
            command -v groff >/dev/null || { echo "no groff"; exit 0; }
            groff -k -man -Tutf8 -ww -z '\(prefix)'/share/man/man1/*.1 2>&1 && echo rendered
            """)
        #expect(render.stdout == "rendered\n" || render.stdout == "no groff\n", "\(render.stdout)")
    }

    /// A second run changes nothing and says so.
    @Test func runningAgainIsIdempotent() throws {
        let box = try Sandbox()
        let prefix = box.path("prefix")
        let first = try box.run("'\(Self.script)' '\(prefix)'", environment: Self.environment)
        #expect(first.status == 0, "\(first.stderr)")
        let before = try Self.expectedFiles(prefix).map { try Data(contentsOf: URL(fileURLWithPath: $0.path)) }
        let second = try box.run("'\(Self.script)' '\(prefix)'", environment: Self.environment)
        #expect(second.status == 0, "\(second.stderr)")
        for (path, _) in Self.expectedFiles(prefix) {
            #expect(second.stdout.contains("unchanged \(path)\n"), "\(second.stdout)")
        }
        let after = try Self.expectedFiles(prefix).map { try Data(contentsOf: URL(fileURLWithPath: $0.path)) }
        #expect(before == after)
    }

    /// DESTDIR stages the files for a package: PREFIX/... lands under DESTDIR.
    @Test func destdirStagesUnderPrefix() throws {
        let box = try Sandbox()
        var environment = Self.environment
        environment["DESTDIR"] = box.path("stage")
        let result = try box.run("'\(Self.script)' /usr/local", environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        for (path, _) in Self.expectedFiles(box.path("stage") + "/usr/local") {
            #expect(FileManager.default.fileExists(atPath: path), "\(path) missing: \(result.stdout)")
        }
        #expect(result.stdout.contains("staged under DESTDIR=\(box.path("stage"))"))
    }

    /// A PREFIX that cannot be written stops the script at once (before it looks for the build),
    /// naming the folder; nothing is created. Tests run as root, so the PREFIX lies below a file.
    @Test func unwritablePrefixFailsClearly() throws {
        let box = try Sandbox()
        try box.write("", to: "not-a-folder")
        let result = try box.run(
            "'\(Self.script)' '\(box.path("not-a-folder/prefix"))'",
            environment: ["CONDUIT_PREBUILT": box.path("no-such-build")])
        #expect(result.status == 1)
        #expect(result.stdout == "")
        #expect(
            result.stderr
                == "install.sh: error: cannot create \(box.path("not-a-folder/prefix/bin")): \(box.path("not-a-folder")) is not a folder\n"
        )
    }
}
