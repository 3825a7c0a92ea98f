import Core
import Testing

@testable import Snowflake

@Suite struct SnowflakeTypeTests {
    /// Every column kind has the Snowflake type the mapping names.
    @Test func kindsMapToSnowflakeTypes() {
        let expected: [(ColumnKind, String)] = [
            (.smallint, "NUMBER(38,0)"), (.integer, "NUMBER(38,0)"), (.bigint, "NUMBER(38,0)"), (.numeric, "NUMBER(38,9)"),
            (.real, "FLOAT"), (.double, "FLOAT"), (.boolean, "BOOLEAN"), (.text, "VARCHAR"), (.uuid, "VARCHAR"),
            (.json, "VARIANT"), (.jsonb, "VARIANT"), (.array(.integer), "VARIANT"), (.timestamptz, "TIMESTAMP_TZ"),
            (.timestamp, "TIMESTAMP_NTZ"), (.date, "DATE"), (.time, "TIME"), (.timetz, "VARCHAR"), (.interval, "VARCHAR"),
            (.bytea, "BINARY"),
        ]
        for (kind, name) in expected { #expect(kind.snowflakeName == name, "\(kind)") }
    }

    /// A source `numeric(p,s)` keeps its precision and scale; a source type outside the mapping loads as text.
    @Test func sourceColumnsKeepPrecisionAndScale() {
        #expect(
            SourceColumn(
                name: "a", sourceType: "numeric(10,2)", kind: .numeric, sourceKind: "postgresql", sourceTypeIsPortable: true
            ).snowflakeType == "NUMBER(10,2)")
        #expect(
            SourceColumn(
                name: "a", sourceType: "numeric(12)", kind: .numeric, sourceKind: "postgresql", sourceTypeIsPortable: true
            ).snowflakeType == "NUMBER(12,0)")
        #expect(
            SourceColumn(name: "a", sourceType: "numeric", kind: .numeric, sourceKind: "postgresql", sourceTypeIsPortable: true)
                .snowflakeType == "NUMBER(38,9)")
        #expect(
            SourceColumn(
                name: "a", sourceType: "numeric(50,2)", kind: .numeric, sourceKind: "postgresql", sourceTypeIsPortable: true
            ).snowflakeType == "NUMBER(38,9)")
        #expect(
            SourceColumn(name: "a", sourceType: "mood", kind: nil, sourceKind: "postgresql", sourceTypeIsPortable: false)
                .snowflakeType == "VARCHAR")
        #expect(
            SourceColumn(name: "a", sourceType: "", kind: nil, sourceKind: "postgresql", sourceTypeIsPortable: false)
                .snowflakeType == nil)
    }

    /// Snowflake's `information_schema` type names read back as the kinds values are checked against.
    @Test func snowflakeTypesReadBackAsKinds() {
        #expect(ColumnKind(snowflakeType: "NUMBER", scale: 0) == .bigint)
        #expect(ColumnKind(snowflakeType: "NUMBER", scale: 2) == .numeric)
        #expect(ColumnKind(snowflakeType: "TEXT", scale: nil) == .text)
        #expect(ColumnKind(snowflakeType: "VARIANT", scale: nil) == .jsonb)
        #expect(ColumnKind(snowflakeType: "TIMESTAMP_LTZ", scale: nil) == .timestamptz)
        #expect(ColumnKind(snowflakeType: "GEOGRAPHY", scale: nil) == nil)
    }
}
