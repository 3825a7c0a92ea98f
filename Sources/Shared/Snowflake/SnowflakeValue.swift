import Core
import Stream

/// How one JSON value loads into a Snowflake column: the text it is staged as (cast to the
/// column's type when the batch is inserted), or why the column cannot take it. Every check
/// happens here, line by line, so a bad value fails the run naming its line and column before
/// anything is sent — not as a cast error on a whole batch.
enum SnowflakeValue {
    /// What a column takes: its kind, and for a NUMBER its precision and scale.
    struct Target {
        var kind: ColumnKind?
        var precision: Int = 38
        var scale: Int = 0

        init(kind: ColumnKind?, type: String) {
            self.kind = kind
            if kind == .numeric || kind == .bigint, let (precision, scale) = SourceColumn.precisionAndScale(type) {
                self.precision = precision
                self.scale = scale
            } else if kind == .numeric {
                scale = 9
            }
        }

        /// The SQL that turns a staged text cell into the column's value.
        func expression(_ cell: String, declaredType: String) -> String {
            switch kind {
            case .json?, .jsonb?, .array?: "PARSE_JSON(\(cell))"
            case .bytea?: "TO_BINARY(\(cell), 'BASE64')"
            case .text?, .uuid?, .interval?, .timetz?, nil: cell
            default: "CAST(\(cell) AS \(declaredType))"
            }
        }
    }

    /// Stages `value` into `batch`'s cell `column` of the current row, or returns why the
    /// column cannot take it.
    static func stage(
        _ value: JSONRow.Value, of row: JSONRow, into target: Target, column: Int, batch: inout SnowflakeBatch
    ) -> String? {
        switch value {
        case .null:
            batch.setNull(column: column)
            return nil
        case .bool(let flag):
            switch target.kind {
            case .boolean?, .text?, .uuid?, .interval?, .timetz?, .json?, .jsonb?, nil:
                batch.set(column: column, flag ? "true" : "false")
                return nil
            default:
                return "\(flag)"
            }
        case .number(let range):
            let digits = row.lineBytes(range)
            switch target.kind {
            case .boolean?:
                // Snowflake reads 0 and 1 as false and true, as the other destinations do.
                if !(digits.elementsEqual("0".utf8) || digits.elementsEqual("1".utf8)) {
                    return "\(String(decoding: digits.prefix(60), as: UTF8.self)): not true or false"
                }
            case .date?, .timestamp?, .timestamptz?, .time?, .bytea?:
                return "the number \(String(decoding: digits.prefix(60), as: UTF8.self))"
            default:
                if let refusal = numberRefusal(digits, target: target) { return refusal }
            }
            batch.set(column: column, digits)
            return nil
        case .string(let bytes):
            return row.withBytes(bytes) { (text: UnsafeBufferPointer<UInt8>) -> String? in
                switch target.kind {
                case .json?, .jsonb?, .array?:
                    // A VARIANT cell is JSON text: the string keeps its quotes.
                    var quoted: [UInt8] = []
                    JSONEscaping.appendQuoted(bytes: text, to: &quoted)
                    quoted.withUnsafeBufferPointer { batch.set(column: column, $0) }
                    return nil
                case .smallint?, .integer?, .bigint?, .numeric?:
                    if let refusal = numberRefusal(text, target: target) { return "the string " + refusal }
                case .real?, .double?:
                    let word = String(decoding: text, as: UTF8.self)
                    if !["Infinity", "-Infinity", "NaN"].contains(word), numberRefusal(text, target: target) != nil {
                        return "the string \(JSONEscaping.quoted(word)): not a number"
                    }
                case .boolean?:
                    let word = String(decoding: text, as: UTF8.self)
                    if word != "true" && word != "false" { return "the string \(JSONEscaping.quoted(word)): not true or false" }
                case .bytea?:
                    if Base64.decode(text) == nil { return "a string that is not base64" }
                case .date?, .timestamp?, .timestamptz?:
                    if !hasDateShape(text) {
                        return
                            "\(JSONEscaping.quoted(String(decoding: text, as: UTF8.self))): not a date or timestamp Snowflake can hold (YYYY-MM-DD…, years 0001-9999)"
                    }
                case .time?:
                    if !hasTimeShape(text) {
                        return "\(JSONEscaping.quoted(String(decoding: text, as: UTF8.self))): not a time of day (HH:MM:SS)"
                    }
                case .text?, .uuid?, .interval?, .timetz?, nil:
                    break
                }
                batch.set(column: column, text)
                return nil
            }
        case .container(let range):
            switch target.kind {
            case .json?, .jsonb?, .array?, .text?, nil:
                batch.set(column: column, row.lineBytes(range))
                return nil
            default:
                return row.lineBytes(range).first == UInt8(ascii: "[") ? "an array" : "an object"
            }
        }
    }

    // MARK: Numbers

    /// Why a number (its text) does not fit the target, nil when it does.
    private static func numberRefusal(_ text: UnsafeBufferPointer<UInt8>, target: Target) -> String? {
        let shown = String(decoding: text.prefix(60), as: UTF8.self)
        guard let number = DecimalShape(text) else { return "\(shown): not a number" }
        switch target.kind {
        case .smallint?, .integer?, .bigint?, .numeric?:
            if number.hasExponent {
                return "\(shown): exponent notation, which a NUMBER column does not take exactly"
            }
            if number.fractionDigits > target.scale {
                return target.scale == 0
                    ? "\(shown): not an integer"
                    : "\(shown): more than \(target.scale) decimal places (the column is NUMBER(\(target.precision),\(target.scale)); Snowflake would round it)"
            }
            if number.integerDigits > target.precision - target.scale {
                return
                    "\(shown): more than \(target.precision - target.scale) digits before the decimal point (NUMBER(\(target.precision),\(target.scale)))"
            }
            return nil
        default:
            return nil
        }
    }

    /// The parts of a decimal number's text that decide whether a NUMBER(p,s) holds it.
    private struct DecimalShape {
        /// Digits before the point, without leading zeros.
        var integerDigits = 0
        /// Digits after the point, without trailing zeros.
        var fractionDigits = 0
        var hasExponent = false

        init?(_ text: UnsafeBufferPointer<UInt8>) {
            var index = 0
            if index < text.count, text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+") { index += 1 }
            var sawDigit = false
            var leading = true
            while index < text.count, isDigit(text[index]) {
                if text[index] != UInt8(ascii: "0") { leading = false }
                if !leading { integerDigits += 1 }
                sawDigit = true
                index += 1
            }
            if index < text.count, text[index] == UInt8(ascii: ".") {
                index += 1
                var count = 0
                var lastNonZero = 0
                while index < text.count, isDigit(text[index]) {
                    count += 1
                    if text[index] != UInt8(ascii: "0") { lastNonZero = count }
                    sawDigit = true
                    index += 1
                }
                fractionDigits = lastNonZero
            }
            guard sawDigit else { return nil }
            if index < text.count, text[index] == UInt8(ascii: "e") || text[index] == UInt8(ascii: "E") {
                hasExponent = true
                index += 1
                if index < text.count, text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+") { index += 1 }
                guard index < text.count else { return nil }
                while index < text.count, isDigit(text[index]) { index += 1 }
            }
            guard index == text.count else { return nil }
        }
    }

    // MARK: Dates and times

    /// `YYYY-MM-DD` at the start, a four-digit year from 0001 (Snowflake's range: PostgreSQL's
    /// `infinity` and BC dates are outside it), a month 01–12 and a day 01–31.
    private static func hasDateShape(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        guard text.count >= 10 else { return false }
        let digitsAt = [0, 1, 2, 3, 5, 6, 8, 9]
        guard digitsAt.allSatisfy({ isDigit(text[$0]) }), text[4] == UInt8(ascii: "-"), text[7] == UInt8(ascii: "-") else {
            return false
        }
        guard !text[0..<4].allSatisfy({ $0 == UInt8(ascii: "0") }) else { return false }
        guard (1...12).contains(twoDigits(text, at: 5)), (1...31).contains(twoDigits(text, at: 8)) else { return false }
        if text.count > 10 {
            let separator = text[10]
            guard separator == UInt8(ascii: "T") || separator == UInt8(ascii: " ") else { return false }
            // PostgreSQL's era mark (" BC") fails the zone check: Snowflake has no such years.
            return hasTimeShape(UnsafeBufferPointer(rebasing: text[11...]), allowZone: true)
        }
        return true
    }

    /// `HH:MM[:SS[.fraction]]` (hours 00–23, minutes and seconds 00–59: Snowflake takes no
    /// PostgreSQL `24:00:00`), with a zone after it where `allowZone`: `Z`, or a sign and
    /// `HH`, `HHMM`, `HH:MM` or `HH:MM:SS` (PostgreSQL writes seconds for old local mean times).
    private static func hasTimeShape(_ text: UnsafeBufferPointer<UInt8>, allowZone: Bool = false) -> Bool {
        guard text.count >= 5, isDigit(text[0]), isDigit(text[1]), text[2] == UInt8(ascii: ":"), isDigit(text[3]),
            isDigit(text[4])
        else { return false }
        guard twoDigits(text, at: 0) <= 23, twoDigits(text, at: 3) <= 59 else { return false }
        var index = 5
        if index < text.count, text[index] == UInt8(ascii: ":") {
            guard index + 2 < text.count, isDigit(text[index + 1]), isDigit(text[index + 2]) else { return false }
            guard twoDigits(text, at: index + 1) <= 59 else { return false }
            index += 3
            if index < text.count, text[index] == UInt8(ascii: ".") {
                index += 1
                while index < text.count, isDigit(text[index]) { index += 1 }
            }
        }
        if index == text.count { return true }
        guard allowZone else { return false }
        let zone = UnsafeBufferPointer(rebasing: text[index...])
        if zone.elementsEqual("Z".utf8) { return true }
        guard let sign = zone.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") else { return false }
        // Shapes by length after the sign: HH, HHMM, HH:MM, HH:MM:SS.
        let offset = UnsafeBufferPointer(rebasing: zone[1...])
        let digitsAt: [Int]
        switch offset.count {
        case 2: digitsAt = [0, 1]
        case 4: digitsAt = [0, 1, 2, 3]
        case 5: digitsAt = [0, 1, 3, 4]
        case 8: digitsAt = [0, 1, 3, 4, 6, 7]
        default: return false
        }
        for position in 0..<offset.count {
            let wanted = digitsAt.contains(position)
            guard wanted ? isDigit(offset[position]) : offset[position] == UInt8(ascii: ":") else { return false }
        }
        return twoDigits(offset, at: 0) <= 18
    }

    /// The number the two ASCII digits at `index` spell.
    private static func twoDigits(_ text: UnsafeBufferPointer<UInt8>, at index: Int) -> Int {
        Int(text[index] &- UInt8(ascii: "0")) * 10 + Int(text[index + 1] &- UInt8(ascii: "0"))
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}
