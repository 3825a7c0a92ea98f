package import Core
import Stream

/// The contents of the state file: one flat JSON object, resource name → last committed value.
/// Keys Conduit does not know, and values of any JSON type under them, are kept as they are.
package struct StateDocument: Sendable, Equatable {
    /// Every member, in no particular order; written sorted by key.
    package private(set) var members: [String: JSONValue]

    package init(members: [String: JSONValue] = [:]) {
        self.members = members
    }

    /// Reads the state file's text. `source` names the file in errors.
    package init(parsing bytes: [UInt8], source: String) throws(ConduitError) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw .io(
                "state file \(source) is corrupt (\(error)); fix or restore it — Conduit will not treat it as empty, which would reload every row"
            )
        }
        guard case .object(let list) = value else {
            throw .io("state file \(source) is corrupt: expected a JSON object of resource names to values")
        }
        var members: [String: JSONValue] = [:]
        for member in list {
            if members[member.key] != nil {
                throw .io("state file \(source) is corrupt: resource \(JSONEscaping.quoted(member.key)) appears twice")
            }
            members[member.key] = member.value
        }
        self.members = members
    }

    /// The committed value of `resource`, or nil when it has none.
    package func value(of resource: String, source: String) throws(ConduitError) -> StateValue? {
        switch members[resource] {
        case nil: return nil
        case .number(let text)?: return .number(text)
        case .string(let text)?: return .string(text)
        case .some:
            throw .io("state file \(source): the value of \(JSONEscaping.quoted(resource)) is neither a number nor a string")
        }
    }

    package mutating func set(_ value: StateValue, for resource: String) {
        members[resource] = value.jsonValue
    }

    package mutating func remove(_ resource: String) {
        members[resource] = nil
    }

    /// The file's text: pretty, keys sorted by code point, trailing newline (SPEC section 5).
    package var serialized: [UInt8] {
        let object = JSONValue.object(members.map { JSONMember(key: $0.key, value: $0.value) })
        return Array((object.prettySerialized(sortKeys: true) + "\n").utf8)
    }
}
