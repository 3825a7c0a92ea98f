/// A decoded Arrow IPC stream: the schema's columns with the rows of every record batch, in order.
package struct ArrowTable: Equatable, Sendable {
    /// One per schema field, in schema order; empty for an empty stream.
    package var columns: [ArrowColumn]
    /// Rows over all record batches; every column holds this many values.
    package var rowCount: Int

    package init(columns: [ArrowColumn], rowCount: Int) {
        self.columns = columns
        self.rowCount = rowCount
    }

    /// The first column with exactly this name (Snowflake upper-cases unquoted names).
    package func column(named name: String) -> ArrowColumn? {
        columns.first { $0.name == name }
    }
}

/// One column of an `ArrowTable`: its schema field and one value per row.
package struct ArrowColumn: Equatable, Sendable {
    package var field: ArrowField
    package var values: [ArrowValue]

    package init(field: ArrowField, values: [ArrowValue]) {
        self.field = field
        self.values = values
    }

    package var name: String { field.name }
    /// The field's custom metadata; Snowflake puts `logicalType`, `precision`, `scale` and
    /// `charLength` here, which say what the Arrow type alone does not (a `FIXED` number with a
    /// scale may arrive as a plain integer, a `TIME` as an int64 of 10^-scale seconds).
    package var metadata: [String: String] { field.metadata }
}

/// A field of the stream's schema.
package struct ArrowField: Equatable, Sendable {
    package var name: String
    package var type: ArrowType
    package var nullable: Bool
    /// The field's `custom_metadata` key/value pairs (a later duplicate key wins).
    package var metadata: [String: String]
    /// The child fields of a `.structure`; empty for every other type.
    package var children: [ArrowField]

    package init(name: String, type: ArrowType, nullable: Bool, metadata: [String: String] = [:], children: [ArrowField] = []) {
        self.name = name
        self.type = type
        self.nullable = nullable
        self.metadata = metadata
        self.children = children
    }
}

/// The Arrow types the reader decodes: the ones Snowflake and fakesnow send, and their close
/// relatives. Anything else (lists, maps, unions, views, time and timestamp types, 256-bit
/// decimals) is refused when the schema is read.
package enum ArrowType: Equatable, Sendable {
    /// All values null; no buffers.
    case null
    case int(bitWidth: Int, signed: Bool)
    /// 16, 32 or 64 bits.
    case floatingPoint(bitWidth: Int)
    /// A fixed-point number of `bitWidth` 32, 64 or 128: the value is the integer × 10^-scale.
    case decimal(precision: Int32, scale: Int32, bitWidth: Int)
    case bool
    case utf8
    case largeUtf8
    case binary
    case largeBinary
    /// Days since 1970-01-01 as an int32.
    case date32
    /// Milliseconds since 1970-01-01 as an int64 (whole days).
    case date64
    /// A struct; its children are the field's `children`.
    case structure
}

/// One value of an `ArrowColumn`.
package enum ArrowValue: Equatable, Sendable {
    case null
    /// Any signed or unsigned integer type (an unsigned 64-bit value above `Int64.max` is refused).
    case int(Int64)
    /// A decimal of any width: the unscaled integer and the type's scale (value = unscaled × 10^-scale).
    case decimal(Int128, scale: Int32)
    /// A float of any width, widened.
    case double(Double)
    case bool(Bool)
    case text(String)
    case binary([UInt8])
    /// Days since 1970-01-01 (date32, or date64 divided down).
    case date(days: Int32)
    /// Snowflake's timestamp struct `{epoch int64, fraction int32 [, timezone int32]}`: seconds
    /// since 1970-01-01 UTC, nanoseconds, and for TIMESTAMP_TZ the offset as minutes + 1440.
    /// Null when the struct slot or its epoch or fraction is null: fakesnow marks a NULL
    /// timestamp in the children, not in the struct.
    case timestamp(epoch: Int64, fraction: Int32, timezone: Int32?)
    /// Any other struct: the children's values in the order of the field's `children`.
    case structure([ArrowValue])
}
