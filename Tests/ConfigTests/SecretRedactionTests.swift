import Testing

@testable import Config
@testable import Core

/// Secrets never reach a message: passwords, a url's password, any environment value.
@Suite struct SecretRedactionTests {
    static let environmentSecret = "envsecret-7f3a"
    static let literalSecret = "litsecret-91c2"
    static let urlSecret = "urlsecret-5d0e"

    /// A configuration with a secret in every place a message could pick one up, and many errors.
    static let leaky = """
        sources:
          - name: pg
            type: postgresql
            url: postgresql://reader:\(urlSecret)@db/app
            password: ${SECRET}
            sslpassword: \(literalSecret)
            bogus: ${SECRET}
          - name: ${SECRET}
            type: ${SECRET}
          - name: pg2
            type: postgresql
            url: ${SECRET}
            dbname: ${SECRET}
        destinations:
          - name: ${SECRET}
            type: sqlite
            path: ${SECRET}
            mode: ${SECRET}
            batch_size: ${SECRET}
        resources:
          - name: r
            source: x${SECRET}
            destination: nowhere-${SECRET}
            incremental_column: ${SECRET}
            ordered: ${SECRET}
            primary_key: ["${SECRET}", "${SECRET}"]
            query: "SELECT '\(literalSecret)' -- ${SECRET}"
          - name: ${SECRET}
            source: pg
            destination: ${SECRET}x
            query: SELECT ${SECRET}
        """

    /// The validation message holds none of the secrets, yet shows where the values came from.
    @Test func validationMessagesHoldNoSecrets() throws {
        let message = try problems(Self.leaky, environment: ["SECRET": Self.environmentSecret])
        for secret in [Self.environmentSecret, Self.literalSecret, Self.urlSecret] {
            #expect(!message.contains(secret), "\(secret) leaked:\n\(message)")
        }
        #expect(message.contains("ingest.yml:9: sources[1].type: unknown type '${SECRET}' (expected postgresql or sqlite)"))
        #expect(
            message.contains("ingest.yml:18: destinations[0].mode: unknown mode '${SECRET}' (expected append, replace or merge)"))
        #expect(message.contains("ingest.yml:22: resources[0].source: no source named 'x${SECRET}' (did you mean '${SECRET}'?)"))
        #expect(message.contains("ingest.yml:26: resources[0].primary_key[1]: names '${SECRET}' a second time"))
    }

    /// An environment value that looks like a misspelt name still never appears in a suggestion's place.
    @Test func suggestionsFromEnvironmentNamesAreShownAsWritten() throws {
        let yaml = edited("  - name: app\n", "  - name: ${APP_NAME}\n", in: edited("    source: app\n", "    source: ap\n"))
        let message = try problems(yaml, environment: ["APP_NAME": "app"])
        #expect(message == "ingest.yml:11: resources[0].source: no source named 'ap' (did you mean '${APP_NAME}'?)")
    }

    /// Interpolation failures name the variable, never a value.
    @Test func interpolationFailuresHoldNoValues() throws {
        let yaml = edited("    path: w.db", "    path: ${PASSWORD_FILE:-\(Self.literalSecret)${NESTED}}")
        let message = try problems(yaml)
        #expect(!message.contains(Self.literalSecret))
        #expect(
            message
                == "ingest.yml:8: destinations[0].path: a '${' inside the default of ${PASSWORD_FILE:-…} is not supported (write '$${' for a literal '${')"
        )
    }

    /// description redacts password, sslpassword and a url's password, wherever they are.
    @Test(arguments: [
        (
            ConnectionSettings(parameters: [("user", "u"), ("password", "p"), ("sslpassword", "q")]),
            "user=u password=*** sslpassword=***"
        ),
        (
            ConnectionSettings(url: "postgresql://reader:hunter2@db/app?password=x&sslmode=require&sslpassword=y"),
            "url=postgresql://reader:***@db/app?password=***&sslmode=require&sslpassword=***"
        ),
        (
            ConnectionSettings(url: "postgresql://reader:p%40ss@h1:5432,h2:5433/app"),
            "url=postgresql://reader:***@h1:5432,h2:5433/app"
        ),
        (ConnectionSettings(url: "postgresql://reader@db:5432/app"), "url=postgresql://reader@db:5432/app"),
        (ConnectionSettings(url: "postgresql://db/app"), "url=postgresql://db/app"),
        (ConnectionSettings(url: "postgresql://:pw@db"), "url=postgresql://:***@db"),
        (ConnectionSettings(parameters: [("password", "")]), "password=***"),
        (ConnectionSettings(path: "my data/app.db"), "path='my data/app.db'"),
        (
            ConnectionSettings(parameters: [("options", "-c search_path='x'")], schema: "s"),
            #"options='-c search_path=\'x\'' schema=s"#
        ),
        (ConnectionSettings(), ""),
    ])
    func descriptionRedacts(settings: ConnectionSettings, expected: String) {
        #expect(settings.description == expected)
        #expect("\(settings)" == expected)
    }

    /// Equality compares keywords, values and their order.
    @Test func connectionSettingsEquality() {
        let a = ConnectionSettings(parameters: [("host", "h"), ("user", "u")], schema: "s")
        #expect(a == ConnectionSettings(parameters: [("host", "h"), ("user", "u")], schema: "s"))
        #expect(a != ConnectionSettings(parameters: [("user", "u"), ("host", "h")], schema: "s"))
        #expect(a != ConnectionSettings(parameters: [("host", "h")], schema: "s"))
        #expect(a != ConnectionSettings(parameters: [("host", "h"), ("user", "v")], schema: "s"))
        #expect(a != ConnectionSettings(parameters: [("host", "h"), ("user", "u")]))
    }
}
