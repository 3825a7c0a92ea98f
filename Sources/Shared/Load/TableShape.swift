import Config
import Core
import Stream

/// The table side of a load: the table's columns, the columns rows fill, and each row's column
/// positions. A key no earlier row had finds its column, or gets one — the table itself at the
/// first row — typed from the source's description of that column, else from its first value.
struct TableShape {
    /// The source's column types (nil: `--infer-types`).
    let describeSource: (() throws(ConduitError) -> [SourceColumn])?
    /// The primary key a created table gets (the configured `primary_key`).
    let primaryKey: [String]
    /// `freeze`: a key the table lacks is an error, not a new column.
    let evolution: SchemaEvolution

    /// The table's columns, nil until the table exists.
    private var tableColumns: [DestinationColumn]?
    /// The columns rows fill, in order, and a lookup from key bytes to their position.
    private var targets: [DestinationColumn] = []
    private var targetPositions: [[UInt8]: Int] = [:]
    private var sourceColumns: [String: SourceColumn]?
    private var positions: [Int] = []
    /// The previous row's keys and positions: rows almost always repeat them, and comparing
    /// bytes is cheaper than a dictionary lookup.
    private var previousKeys: [[UInt8]] = []
    private var previousPositions: [Int] = []
    /// ``previousKeys`` one after another (`previousKeyEnds[n]`: where key n ends), for the
    /// whole-row check that needs no reference counting.
    private var previousKeyBytes: [UInt8] = []
    private var previousKeyEnds: [Int] = []
    /// Counts the changes of the previous row's keys, so a row scanner expecting them
    /// (``JSONRow/expectKeys(_:)``) can tell it must be told again.
    private(set) var previousKeysGeneration = 0

    init(
        describeSource: (() throws(ConduitError) -> [SourceColumn])?, primaryKey: [String] = [],
        evolution: SchemaEvolution = .evolve
    ) {
        self.describeSource = describeSource
        self.primaryKey = primaryKey
        self.evolution = evolution
    }

    /// Whether any key has a column yet.
    var hasTargets: Bool { !targets.isEmpty }

    mutating func start(_ destination: any LoadDestination) throws(ConduitError) {
        tableColumns = try destination.existingColumns()
    }

    /// Whether the row's keys are the last row ``positions(of:lineNumber:in:repeatsPreviousKeys:)``
    /// placed, in its order: the usual row. `expectedGeneration`: the ``previousKeysGeneration``
    /// whose keys the row's scanner expected, when the caller told it (``expectKeys(of:)``).
    func repeatsPreviousKeys(_ row: JSONRow, expectedGeneration: Int? = nil) -> Bool {
        if expectedGeneration == previousKeysGeneration && row.holdsExpectedKeys { return true }
        return row.keys(equal: previousKeyBytes, ends: previousKeyEnds)
    }

    /// The index of the last of the previous row's keys that is `key` (nil: none is).
    func lastPreviousKeyIndex(of key: [UInt8]) -> Int? {
        previousKeys.lastIndex(of: key)
    }

    /// Tells the row scanner to expect the previous row's keys; returns their generation.
    func expectKeys(of row: inout JSONRow) -> Int {
        row.expectKeys(previousKeys)
        return previousKeysGeneration
    }

    /// The target column of each of the row's members, adding columns (and the table) as keys
    /// appear. `repeatsPreviousKeys`: ``repeatsPreviousKeys(_:)``'s answer for this row, when
    /// the caller has it already.
    mutating func positions(
        of row: JSONRow, lineNumber: Int, in destination: any LoadDestination, repeatsPreviousKeys: Bool? = nil
    ) throws(ConduitError) -> [Int] {
        if repeatsPreviousKeys ?? self.repeatsPreviousKeys(row) { return previousPositions }
        positions.removeAll(keepingCapacity: true)
        let members = row.members
        var sameAsPrevious = members.count == previousKeys.count
        for (index, member) in members.enumerated() {
            if sameAsPrevious {
                if row.bytes(member.key, equal: previousKeys[index]) {
                    positions.append(previousPositions[index])
                    continue
                }
                sameAsPrevious = false
            }
            let key = row.withBytes(member.key) { Array($0) }
            if let position = targetPositions[key] {
                positions.append(position)
            } else {
                positions.append(try addTarget(key: key, member: member, row: row, lineNumber: lineNumber, in: destination))
            }
        }
        if !sameAsPrevious {
            previousKeys = members.map { member in row.withBytes(member.key) { Array($0) } }
            previousPositions = positions
            previousKeyBytes = previousKeys.flatMap { $0 }
            previousKeyEnds = []
            var end = 0
            for key in previousKeys {
                end += key.count
                previousKeyEnds.append(end)
            }
            previousKeysGeneration += 1
        }
        return positions
    }

    /// A key no earlier row had: finds or creates its column and makes rows fill it from now on.
    private mutating func addTarget(
        key: [UInt8], member: JSONRow.Member, row: JSONRow, lineNumber: Int, in destination: any LoadDestination
    ) throws(ConduitError) -> Int {
        let name = String(decoding: key, as: UTF8.self)
        if let problem = destination.validateColumnName(name) {
            throw .badInput(
                "line \(lineNumber): key \(JSONEscaping.quoted(name)) cannot be a column of \(destination.label): \(problem)")
        }
        if tableColumns == nil {
            // The first row decides the table's columns: create it (inside this batch's transaction
            // where the destination's DDL is transactional).
            let columns = try row.members.map { (member) throws(ConduitError) -> (name: String, type: String) in
                let name = row.string(member.key)
                if let problem = destination.validateColumnName(name) {
                    throw .badInput(
                        "line \(lineNumber): key \(JSONEscaping.quoted(name)) cannot be a column of \(destination.label): \(problem)"
                    )
                }
                return (name, try newColumnType(name: name, value: member.value, row: row, in: destination))
            }
            var unique: [(name: String, type: String)] = []
            for column in columns
            where !unique.contains(where: {
                destination.columnName(forKey: $0.name).utf8.elementsEqual(destination.columnName(forKey: column.name).utf8)
            }) {
                unique.append(column)
            }
            for key in primaryKey where !unique.contains(where: { $0.name == key }) {
                throw .badInput(
                    "line \(lineNumber): the first row has no \(JSONEscaping.quoted(key)) key, a primary_key column of the table to create"
                )
            }
            try destination.createTable(unique, primaryKey: primaryKey)
            tableColumns = try destination.existingColumns()
        }
        let columnName = destination.columnName(forKey: name)
        var column = tableColumns?.first { $0.name.utf8.elementsEqual(columnName.utf8) }
        if column == nil {
            if evolution == .freeze {
                throw .badInput(
                    "line \(lineNumber): key \(JSONEscaping.quoted(name)) is not a column of \(destination.label), and schema_evolution is freeze"
                )
            }
            try destination.addColumn(
                name: name, type: try newColumnType(name: name, value: member.value, row: row, in: destination))
            tableColumns = try destination.existingColumns()
            column = tableColumns?.first { $0.name.utf8.elementsEqual(columnName.utf8) }
        }
        guard let column else {
            throw .internalError(
                "line \(lineNumber): column \(JSONEscaping.quoted(name)) was added to \(destination.label) but is not there")
        }
        if let existing = targets.firstIndex(where: { $0.name == column.name }) {
            // Another key names the same column (`email` and `EMAIL` on Snowflake): the last one in a row wins.
            targetPositions[key] = existing
            return existing
        }
        targets.append(column)
        targetPositions[key] = targets.count - 1
        try destination.setTargetColumns(targets)
        return targets.count - 1
    }

    private mutating func newColumnType(
        name: String, value: JSONRow.Value, row: JSONRow, in destination: any LoadDestination
    ) throws(ConduitError) -> String {
        if sourceColumns == nil {
            var byName: [String: SourceColumn] = [:]
            if let describeSource {
                do {
                    for column in try describeSource() where byName[column.name] == nil { byName[column.name] = column }
                } catch {
                    throw ConduitError(
                        error.kind,
                        "learning the source's column types to create columns in \(destination.label) (--infer-types skips this): \(error.message)"
                    )
                }
            }
            sourceColumns = byName
        }
        return destination.newColumnType(
            source: sourceColumns?[name], inferred: ColumnKind.inferred(from: row.jsonValue(value)))
    }
}
