import Core
import Stream
import Testing

@testable import Postgres

/// `PostgresTypeCatalog`: what `pg_type` says about types Conduit does not name (enums, domains,
/// arrays of those, `inet[]`) → how their values are written and which kind they describe as.
/// The rows are those its catalog query returns on a real server (oid, typtype, typbasetype,
/// typelem, delimiter, is-array), so no server is needed here.
@Suite struct PostgresTypeCatalogTests {
    static let mood = PostgresDataType(16_390), moodArray = PostgresDataType(16_389)
    static let positive = PostgresDataType(16_400), positiveArray = PostgresDataType(16_399)
    static let label = PostgresDataType(16_410), labelArray = PostgresDataType(16_409)
    static let intList = PostgresDataType(16_420), intListArray = PostgresDataType(16_419)
    static let small = PostgresDataType(16_430), moodList = PostgresDataType(16_440)
    static let inet = PostgresDataType(869), inetArray = PostgresDataType(1041)
    static let box = PostgresDataType(603), boxArray = PostgresDataType(1020), int2vector = PostgresDataType(22)

    /// The catalog a server gives for the types above.
    static let catalog = PostgresTypeCatalog(rows: [
        ["16390", "e", "0", "0", ",", "f"], ["16389", "b", "0", "16390", ",", "t"],
        ["16400", "d", "23", "0", ",", "f"], ["16399", "b", "0", "16400", ",", "t"],
        ["16410", "d", "25", "0", ",", "f"], ["16409", "b", "0", "16410", ",", "t"],
        ["16420", "d", "1007", "0", ",", "f"], ["16419", "b", "0", "16420", ",", "t"],
        ["16430", "d", "16400", "0", ",", "f"], ["16440", "d", "16389", "0", ",", "f"],
        ["869", "b", "0", "0", ",", "f"], ["1041", "b", "0", "869", ",", "t"],
        ["603", "b", "0", "600", ",", "f"], ["1020", "b", "0", "603", ";", "t"],
        ["22", "b", "0", "21", ",", "f"], ["21", "b", "0", "0", ",", "f"], ["23", "b", "0", "0", ",", "f"],
    ])

    /// The JSON for the server's text of a value of `type`, written as the catalog says.
    static func json(_ text: String, _ type: PostgresDataType) -> String {
        var output: [UInt8] = []
        Array(text.utf8).withUnsafeBufferPointer {
            PostgresTextEncoder.append($0, style: catalog.style(for: type), to: &output)
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Guards which types need the catalog: only those Conduit does not name, so a query of known types runs no catalog query.
    @Test func onlyUnnamedTypesNeedTheCatalog() {
        #expect(!PostgresTypeCatalog.needsLookup(.int4) && !PostgresTypeCatalog.needsLookup(PostgresDataType(1007)))
        #expect(!PostgresTypeCatalog.needsLookup(.money) && !PostgresTypeCatalog.needsLookup(PostgresDataType(3807)))
        #expect(PostgresTypeCatalog.needsLookup(Self.inetArray) && PostgresTypeCatalog.needsLookup(Self.moodArray))
        #expect(PostgresTypeCatalog.needsLookup(Self.inet) && PostgresTypeCatalog.needsLookup(Self.positive))
    }

    /// Guards the rows → entries reading: domains, true arrays with their delimiter, int2vector (category A, but space-separated) as other.
    @Test func readsCatalogRows() {
        #expect(Self.catalog.entries[Self.positive] == .domain(base: .int4))
        #expect(Self.catalog.entries[Self.moodArray] == .array(element: Self.mood, delimiter: UInt8(ascii: ",")))
        #expect(Self.catalog.entries[Self.boxArray] == .array(element: Self.box, delimiter: UInt8(ascii: ";")))
        #expect(Self.catalog.entries[Self.mood] == .other && Self.catalog.entries[Self.int2vector] == .other)
        // Rows it cannot read are skipped, not guessed at.
        #expect(PostgresTypeCatalog(rows: [["x", "d", "23", "0", ",", "f"], ["16500"]]).entries.isEmpty)
    }

    /// Guards the styles: arrays of any element type are JSON arrays mapped like the element, domains like their base.
    @Test func stylesThroughTheCatalog() {
        typealias Style = PostgresTextEncoder.Style
        #expect(Self.catalog.style(for: Self.moodArray) == .array(.string))
        #expect(Self.catalog.style(for: Self.positiveArray) == .array(.verbatimNumber))
        #expect(Self.catalog.style(for: Self.labelArray) == .array(.string))
        #expect(Self.catalog.style(for: Self.inetArray) == .array(.string))
        #expect(Self.catalog.style(for: Self.boxArray) == .array(.string, delimiter: UInt8(ascii: ";")))
        #expect(Self.catalog.style(for: Self.intList) == .array(.verbatimNumber))
        #expect(Self.catalog.style(for: Self.intListArray) == .array(.array(.verbatimNumber)))
        #expect(Self.catalog.style(for: Self.moodList) == .array(.string))
        #expect(
            Self.catalog.style(for: Self.positive) == .verbatimNumber && Self.catalog.style(for: Self.small) == .verbatimNumber)
        #expect(Self.catalog.style(for: Self.mood) == .string && Self.catalog.style(for: Self.int2vector) == .string)
        #expect(Self.catalog.style(for: PostgresDataType(99_999)) == .string)
        // Known types never consult it.
        #expect(PostgresTypeCatalog().style(for: PostgresDataType(1007)) == .array(.verbatimNumber))
    }

    /// Guards the kinds --describe reports: arrays stay arrays (text[] for elements outside the mapping), domains take their base's kind.
    @Test func kindsThroughTheCatalog() {
        #expect(Self.catalog.kind(for: Self.moodArray) == .array(.text))
        #expect(Self.catalog.kind(for: Self.inetArray) == .array(.text))
        #expect(Self.catalog.kind(for: Self.boxArray) == .array(.text))
        #expect(Self.catalog.kind(for: Self.positiveArray) == .array(.integer))
        #expect(Self.catalog.kind(for: Self.labelArray) == .array(.text))
        #expect(Self.catalog.kind(for: Self.intList) == .array(.integer))
        #expect(Self.catalog.kind(for: Self.moodList) == .array(.text))
        #expect(Self.catalog.kind(for: Self.positive) == .integer && Self.catalog.kind(for: Self.label) == .text)
        #expect(Self.catalog.kind(for: Self.mood) == nil && Self.catalog.kind(for: Self.inet) == nil)
        #expect(Self.catalog.kind(for: Self.int2vector) == nil && Self.catalog.kind(for: PostgresDataType(99_999)) == nil)
    }

    /// Guards a catalog that loops (PostgreSQL allows none): the walk stops, the value travels as text.
    @Test func loopingCatalogEnds() {
        let looping = PostgresTypeCatalog(rows: [
            ["16600", "d", "16601", "0", ",", "f"], ["16601", "d", "16600", "0", ",", "f"],
        ])
        #expect(looping.style(for: PostgresDataType(16_600)) == .string)
        #expect(looping.kind(for: PostgresDataType(16_600)) == nil)
    }

    /// One server value of a type the catalog describes and the JSON it must become.
    struct Case: Sendable, CustomTestStringConvertible {
        var type: PostgresDataType
        var text: String
        var json: String
        init(_ type: PostgresDataType, _ text: String, _ json: String) {
            self.type = type
            self.text = text
            self.json = json
        }
        var testDescription: String { "\(type.rawValue) \(text)" }
    }

    /// Guards the values: enum, inet, text-domain elements as strings (a quoted "NULL" is a string),
    /// numeric-domain elements as numbers, NULL elements as null, nesting, box's `;`, arrays of a domain over an array.
    @Test(arguments: [
        Case(moodArray, "{sad,happy}", #"["sad","happy"]"#),
        Case(moodArray, #"{sad,NULL,"NULL"}"#, #"["sad",null,"NULL"]"#),
        Case(moodArray, "{{sad,happy},{happy,NULL}}", #"[["sad","happy"],["happy",null]]"#),
        Case(moodArray, "{}", "[]"),
        Case(positiveArray, "{1,NULL,2147483647}", "[1,null,2147483647]"),
        Case(positiveArray, "[0:1]={1,2}", "[1,2]"),
        Case(labelArray, #"{"a b","q\"uote","back\\slash",",{}",""}"#, #"["a b","q\"uote","back\\slash",",{}",""]"#),
        Case(inetArray, "{192.168.0.1/24,::1,NULL}", #"["192.168.0.1/24","::1",null]"#),
        Case(boxArray, "{(1,1),(0,0);(3,3),(2,2)}", #"["(1,1),(0,0)","(3,3),(2,2)"]"#),
        Case(intList, "{1,2}", "[1,2]"),
        Case(intListArray, #"{"{1,2}",NULL,"{3,NULL}"}"#, "[[1,2],null,[3,null]]"),
        Case(positive, "42", "42"),
        Case(mood, "sad", #""sad""#),
    ])
    func values(_ value: Case) throws {
        let output = Self.json(value.text, value.type)
        #expect(output == value.json)
        _ = try JSONParser.parse(Array(output.utf8))
    }
}
