import Foundation
import TestSupport
import Testing

/// `conduit-state show | get | set | reset`, --help and --version, through the real executable.
@Suite struct ConduitStateCommandTests {
    /// set, get, show and reset edit and print the state file as documented.
    @Test func editAndPrint() throws {
        let box = try Sandbox()
        try box.writeStandardConfig()
        try box.write("{\"custom_tool_key\": {\"keep\": true}}\n", to: ".conduit_state.json")
        let set = try box.run("conduit-state set users 15789")
        #expect(set.status == 0, "\(set.stderr)")
        #expect(set.stderr == "conduit-state: users: state (none) → 15789 (set by hand)\n")
        #expect(try box.run("conduit-state get users").stdout == "15789\n")
        #expect(try box.run("conduit-state set events 2024-05-01T00:00:00Z").status == 0)
        #expect(try box.run("conduit-state get events").stdout == "2024-05-01T00:00:00Z\n")
        #expect(try box.run("conduit-state set users 12").status == 0, "set moves backwards")
        #expect(
            try box.run("conduit-state show").stdout == """
                {
                  "custom_tool_key": {
                    "keep": true
                  },
                  "events": "2024-05-01T00:00:00Z",
                  "users": 12
                }

                """)
        #expect(try box.run("conduit-state show users").stdout == "{\n  \"users\": 12\n}\n")
        let reset = try box.run("conduit-state reset users")
        #expect(reset.status == 0)
        #expect(reset.stderr == "conduit-state: users: state 12 → (none) (reset)\n")
        let get = try box.run("conduit-state get users")
        #expect(get.status == 0)
        #expect(get.stdout == "")
        #expect(
            get.stderr
                == "conduit-state: users has no committed value in the state file .conduit_state.json; its next run starts from initial_value, or 0\n"
        )
        #expect(try box.read(".conduit_state.json").contains("custom_tool_key"))
    }

    /// With a configuration, set refuses a resource it does not define (exit 78, with a suggestion).
    @Test func setRefusesUnknownResources() throws {
        let box = try Sandbox()
        try box.writeStandardConfig()
        let result = try box.run("conduit-state set user 5")
        #expect(result.status == 78)
        #expect(result.stderr == "conduit-state: error: ingest.yml: no resource named 'user' (did you mean 'users'?)\n")
        #expect(!box.exists(".conduit_state.json"))
    }

    /// Without any configuration the state commands work on the state file alone, wherever it is.
    @Test func worksWithoutConfiguration() throws {
        let box = try Sandbox()
        #expect(try box.run("conduit-state set --state-file custom.json anything 3").status == 0)
        #expect(try box.read("custom.json") == "{\n  \"anything\": 3\n}\n")
        #expect(try box.run("conduit-state get anything", environment: ["CONDUIT_STATE_FILE": "custom.json"]).stdout == "3\n")
    }

    /// A named configuration that does not exist is a configuration error.
    @Test func missingNamedConfiguration() throws {
        let box = try Sandbox()
        let result = try box.run("conduit-state show --config nowhere.yml")
        #expect(result.status == 78)
        #expect(result.stderr == "conduit-state: error: nowhere.yml: cannot read the configuration: No such file or directory\n")
    }

    /// Every tool answers --help with examples and --version; an unknown flag is exit 64.
    @Test(arguments: ["conduit-state", "conduit-state commit", "conduit-state set", "conduit-extract", "conduit-load"])
    func helpAndVersion(command: String) throws {
        let box = try Sandbox()
        let help = try box.run("\(command) --help")
        #expect(help.status == 0)
        #expect(help.stdout.contains("Examples:"))
        let bad = try box.run("\(command) --no-such-flag")
        #expect(bad.status == 64)
    }

    /// --version prints the version.
    @Test func version() throws {
        let box = try Sandbox()
        #expect(try box.run("conduit-state --version").stdout == "0.1.0\n")
    }
}
