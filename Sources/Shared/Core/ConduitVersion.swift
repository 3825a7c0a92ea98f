/// The version every tool reports with `--version`.
package enum ConduitVersion {
    package static let current = "0.1.0"
}
