import Config
package import Core
import State
import Stream

extension SourceColumn {
    /// One line of `conduit-extract --describe`.
    package var jsonValue: JSONValue {
        .object([
            JSONMember(key: "name", value: .string(name)),
            JSONMember(key: "source_type", value: .string(sourceType)),
            JSONMember(key: "kind", value: kind.map { .string($0.description) } ?? .null),
        ])
    }
}

extension SourceColumn {
    /// Reads the output of `conduit-extract --describe` (one JSON object a line), as
    /// `conduit-load --schema FILE` takes it: a loader that cannot reach the source still creates
    /// typed tables. Errors name the file and the line.
    package static func readDescription(
        _ bytes: [UInt8], file: String, source: any SourceConnector
    ) throws(ConduitError) -> [SourceColumn] {
        var columns: [SourceColumn] = []
        for (index, line) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let text = Array(line)
            if text.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let location = "\(file): line \(index + 1)"
            let members: [JSONMember]
            do {
                guard case .object(let object) = try JSONParser.parse(text) else {
                    throw ConduitError.badInput("\(location): not a JSON object; give the output of conduit-extract --describe")
                }
                members = object
            } catch let error as ConduitError {
                throw error
            } catch {
                throw .badInput("\(location): not JSON (\(error)); give the output of conduit-extract --describe")
            }
            var name: String?
            var declared = ""
            var kind: ColumnKind?
            for member in members {
                switch (member.key, member.value) {
                case ("name", .string(let text)): name = text
                case ("source_type", .string(let text)): declared = text
                case ("kind", .string(let text)):
                    guard let known = ColumnKind(name: text) else {
                        throw .badInput("\(location): unknown kind \(JSONEscaping.quoted(text))")
                    }
                    kind = known
                case ("kind", .null): kind = nil
                default: break
                }
            }
            guard let name else { throw .badInput("\(location): no \"name\" key") }
            columns.append(
                SourceColumn(
                    name: name, sourceType: declared, kind: kind, sourceKind: source.schema.typeName,
                    sourceTypeIsPortable: source.describedTypeIsPortable(sourceType: declared, kind: kind)))
        }
        return columns
    }
}
