package import Config
package import Core
import Stream

extension DatabaseStateSettings {
    /// The settings as one line of JSON, for ``CheckpointEnvironment/state``: a loader started
    /// by `conduit-state commit` copies its checkpoints into the same tables, whatever its own
    /// configuration says.
    package var environmentText: String {
        var fields = [
            JSONMember(
                key: "parameters",
                value: .array(connection.parameters.map { .array([.string($0.keyword), .string($0.value)]) })),
            JSONMember(key: "schema", value: .string(schema)), JSONMember(key: "table", value: .string(table)),
            JSONMember(key: "type", value: .string(type)),
        ]
        if let url = connection.url { fields.append(JSONMember(key: "url", value: .string(url))) }
        return JSONValue.object(fields).serialized()
    }

    /// Reads ``environmentText``.
    package init(environmentText text: String) throws(ConduitError) {
        guard case .object(let members)? = try? JSONParser.parse(Array(text.utf8)) else {
            throw .usage("\(CheckpointEnvironment.state) is not the JSON conduit-state commit writes")
        }
        var parameters: [(keyword: String, value: String)] = []
        var url: String?
        var schema: String?
        var table: String?
        var type = ""
        for member in members {
            switch (member.key, member.value) {
            case ("parameters", .array(let pairs)):
                for pair in pairs {
                    if case .array(let items) = pair, items.count == 2, case .string(let keyword) = items[0],
                        case .string(let value) = items[1]
                    {
                        parameters.append((keyword, value))
                    }
                }
            case ("url", .string(let text)): url = text
            case ("schema", .string(let text)): schema = text
            case ("table", .string(let text)): table = text
            case ("type", .string(let text)): type = text
            default: break
            }
        }
        self.init(type: type, connection: ConnectionSettings(parameters: parameters, url: url), schema: schema, table: table)
    }
}
